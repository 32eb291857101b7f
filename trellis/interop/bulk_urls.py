"""Bulk Data export under /fhir/R4/: kick-off at system, Patient and Group level, the status
URL a client polls (and deletes to cancel), and the NDJSON files (docs/fhir-bulk.md)."""

from django.urls import URLPattern, path

from trellis.interop.bulk import views

app_name = "bulk"

urlpatterns: list[URLPattern] = [
    path("$export", views.export_system, name="export"),
    path("Patient/$export", views.export_patients, name="patient_export"),
    path("Group/<str:group_id>/$export", views.export_group, name="group_export"),
    path("bulk/<uuid:job_id>", views.status, name="status"),
    path("bulk/<uuid:job_id>/<str:name>.ndjson", views.download, name="file"),
]
