"""Pages that belong to no clinic app: health, liveness, readiness, metrics, the favicon."""

from django.urls import URLPattern, URLResolver, path

from trellis.core import views

app_name = "core"

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
]
