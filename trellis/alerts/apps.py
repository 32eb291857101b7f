from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "trellis.alerts"
    label = "alerts"
    verbose_name = "Alerts and the safety pathway"

    def ready(self) -> None:
        # Register the safety set-up check that `trellis check` runs.
        from trellis.alerts import (
            checks,  # noqa: F401
            metrics,
        )
        from trellis.core import metrics as core_metrics

        # Open alerts by severity at each scrape of /metrics.
        core_metrics.register_collector("alerts", metrics.read_open_alerts)
