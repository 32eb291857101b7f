"""The clinic admin's pages for connected systems (SMART backend clients)."""

from django.urls import URLPattern, path

from trellis.interop import client_views as views

app_name = "connections"

urlpatterns: list[URLPattern] = [
    path("clinic/connections/", views.connections, name="list"),
    path("clinic/connections/new/", views.register, name="register"),
    path("clinic/connections/<uuid:pk>/", views.detail, name="detail"),
    path("clinic/connections/<uuid:pk>/active/", views.set_active, name="set_active"),
    path("clinic/connections/<uuid:pk>/keys/", views.replace_keys, name="replace_keys"),
]
