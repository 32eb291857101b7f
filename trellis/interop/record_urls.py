"""The patient's own record (namespace "record"): /me/record/ for the patient, and
/clinic/amendments/ for the clinicians who decide requests for corrections."""

from django.urls import URLPattern, path

from trellis.interop import record_views as views

app_name = "record"

urlpatterns: list[URLPattern] = [
    path("me/record/", views.mine, name="mine"),
    path("me/record/download/<slug:fmt>/", views.download, name="download"),
    path("me/record/corrections/new/", views.request_amendment, name="request_amendment"),
    path("me/record/disclosures/", views.disclosures, name="disclosures"),
    path("clinic/amendments/", views.clinic_amendments, name="clinic_amendments"),
    path("clinic/amendments/<uuid:pk>/", views.clinic_amendment, name="clinic_amendment"),
    path("clinic/amendments/<uuid:pk>/decide/", views.decide, name="decide"),
]
