from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "trellis.engagement"
    label = "engagement"
    verbose_name = "Engagement event log"
