from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "trellis.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        # Register the safety set-up check that `trellis check` runs.
        from trellis.insights import checks  # noqa: F401
