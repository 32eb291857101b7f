"""Alert pages for clinic staff, mounted at clinic/alerts/ (namespace "alerts")."""

from django.urls import URLPattern, URLResolver, path

from trellis.alerts import views

app_name = "alerts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbox, name="inbox"),
    path("rules/", views.rule_settings, name="rules"),
    path("on-call/", views.on_call, name="on_call"),
    path("on-call/<uuid:pk>/", views.on_call_team, name="on_call_team"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<uuid:pk>/resolve/", views.resolve, name="resolve"),
    path("<uuid:pk>/dismiss/", views.dismiss, name="dismiss"),
]
