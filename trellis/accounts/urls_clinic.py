app_name = "clinic"

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
