"""Interop's pages: connected systems and referrals for clinic admins, the patient's own
record, amendments, and the clinic's data rights (retention, erasure, research export)."""

from django.urls import include, path

urlpatterns = [
    path("", include("trellis.interop.client_urls")),
    path("", include("trellis.interop.referral_page_urls")),
    path("", include("trellis.interop.record_urls")),
    path("", include("trellis.interop.rights_urls")),
]
