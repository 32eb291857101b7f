"""Data rights (namespace "data_rights"): the clinic's retention and erasure settings and
requests, erasing on a spoken request, a patient's erasure request, the research export."""

from django.urls import URLPattern, URLResolver, path

from trellis.interop import rights_views as views

app_name = "data_rights"

urlpatterns: list[URLPattern | URLResolver] = [
    path("clinic/data-rights/", views.data_rights, name="settings"),
    path("clinic/data-rights/erase/", views.erase_verbal, name="erase_verbal"),
    path("clinic/data-rights/requests/<uuid:pk>/erase/", views.erase, name="erase"),
    path("clinic/data-rights/requests/<uuid:pk>/refuse/", views.refuse, name="refuse"),
    path("clinic/research-export/", views.research_export, name="research_export"),
    path("me/erasure/", views.my_erasure, name="my_erasure"),
]
