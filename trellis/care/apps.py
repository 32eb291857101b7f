from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "trellis.care"
    label = "care"
    verbose_name = "Care"
