from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "trellis.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from trellis.insights import wording

        wording.register()
