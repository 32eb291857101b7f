from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "trellis.appointments"
    label = "appointments"
    verbose_name = "Live sessions"
