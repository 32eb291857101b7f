from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "trellis.nudges"
    label = "nudges"
    verbose_name = "Reminders and nudges"

    def ready(self) -> None:
        # Register the message templates of the session reminders (appointment_24h, _1h)
        # wherever a delivery may be rendered: the web process and every worker; and the
        # web-push keys check that `trellis check` runs.
        from trellis.core import metrics as core_metrics
        from trellis.nudges import (
            appointment_reminders,  # noqa: F401
            checks,  # noqa: F401
            metrics,
        )

        # Deliveries by channel and status at each scrape of /metrics.
        core_metrics.register_collector("deliveries", metrics.read_deliveries)
