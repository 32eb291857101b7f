"""SMART Backend Services under /fhir/R4/: the token endpoint and its discovery document."""

from django.urls import URLPattern, path

from trellis.interop.smart import views

app_name = "smart"

urlpatterns: list[URLPattern] = [
    path("auth/token", views.token, name="token"),
    path(".well-known/smart-configuration", views.smart_configuration, name="configuration"),
]
