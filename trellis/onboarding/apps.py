from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "trellis.onboarding"
    label = "onboarding"
    verbose_name = "Getting started"
