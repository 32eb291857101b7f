"""The clinic admin's referrals page: recent referrals, settings, and uploading a file."""

from django.urls import URLPattern, path

from trellis.interop import referral_views as views

app_name = "referrals"

urlpatterns: list[URLPattern] = [
    path("clinic/referrals/", views.referrals_page, name="page"),
    path("clinic/referrals/upload/", views.upload_referrals, name="upload"),
    path("clinic/referrals/settings/", views.referral_settings, name="settings"),
]
