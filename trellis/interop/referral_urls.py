"""Referrals sent by the clinic's systems: `POST /fhir/R4/Bundle` (docs/referrals.md)."""

from django.urls import URLPattern, path

from trellis.interop.referrals.endpoint import referral_bundle

app_name = "fhir_referrals"

urlpatterns: list[URLPattern] = [
    path("Bundle", referral_bundle, name="bundle"),
]
