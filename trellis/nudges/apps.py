from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "trellis.nudges"
    label = "nudges"
    verbose_name = "Reminders and nudges"
