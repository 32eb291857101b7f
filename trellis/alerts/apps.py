from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "trellis.alerts"
    label = "alerts"
    verbose_name = "Alerts and the safety pathway"
