"""Pages that belong to no clinic app: the health check and the favicon."""

from django.urls import URLPattern, URLResolver, path

from trellis.core import views

app_name = "core"

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
]
