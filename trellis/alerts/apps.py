from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "trellis.alerts"
    label = "alerts"
    verbose_name = "Alerts and the safety pathway"

    def ready(self) -> None:
        # Register the safety set-up check that `trellis check` runs.
        from trellis.alerts import checks  # noqa: F401
