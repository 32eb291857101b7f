"""Alert pages for clinic staff, mounted at clinic/alerts/ (namespace "alerts")."""

from django.urls import URLPattern, URLResolver, path

from trellis.insights import views

app_name = "alerts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbox, name="inbox"),
    path("on-call/", views.on_call, name="on_call"),
    path("on-call/<uuid:pk>/", views.on_call_team, name="on_call_team"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
