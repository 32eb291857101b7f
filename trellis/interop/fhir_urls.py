"""Everything under /fhir/R4/: the SMART token endpoint and discovery, Bulk Data export,
referrals sent as a Bundle, and (last, since its patterns are the widest) read and search."""

from django.urls import include, path

urlpatterns = [
    path("", include("trellis.interop.smart_urls")),
    path("", include("trellis.interop.bulk_urls")),
    path("", include("trellis.interop.referral_urls")),
    path("", include("trellis.interop.fhir.urls")),
]
