"""The audit trail pages, mounted at /clinic/audit/."""

from django.urls import URLPattern, URLResolver, path

from trellis.clinic.views import audit as views

app_name = "audit"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.events, name="events"),
    path("export.csv", views.export_csv, name="export"),
]
