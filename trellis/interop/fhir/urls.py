"""FHIR read and search, mounted last under /fhir/R4/ (its patterns are the widest)."""

from django.urls import path, re_path

from trellis.interop.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    re_path(r"^(?P<resource_type>[A-Za-z]+)$", views.search, name="search"),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<ident>[A-Za-z0-9\-.]{1,64})$",
        views.read,
        name="read",
    ),
    re_path(r"^(?P<path>.*)$", views.unknown, name="unknown"),
]
