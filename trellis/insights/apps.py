from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "trellis.insights"
    label = "insights"
    verbose_name = "Insights and alerts"

    def ready(self) -> None:
        # Register the safety set-up check with `trellis check`.
        from trellis.insights import deploychecks  # noqa: F401
