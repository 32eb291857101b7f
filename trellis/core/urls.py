"""Pages that belong to no clinic app: the health check and the favicon."""

from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, path
from django.views.generic import RedirectView

from trellis.core import views

app_name = "core"

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("trellis/icons/favicon.svg"), permanent=True),
        name="favicon",
    ),
]
