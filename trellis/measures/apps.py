from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "trellis.measures"
    label = "measures"
    verbose_name = "Measures"
