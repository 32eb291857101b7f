app_name = "audit"

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
