from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "trellis.journey"
    label = "journey"
    verbose_name = "Patient journey"
