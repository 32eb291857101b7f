"""Getting started (namespace "onboarding", mounted at /welcome/) and the clinic's care
pages (namespace "care")."""

from django.urls import URLPattern, URLResolver, include, path

from trellis.onboarding import views

onboarding_patterns: list[URLPattern | URLResolver] = [
    path("", views.start, name="start"),
    path("consent/", views.consent, name="consent"),
    path("health-information/", views.eheals, name="eheals"),
    path("simple-mode/", views.simple_mode, name="simple_mode"),
    path("feelings/", views.baseline, name="baseline"),
    path("preferences/", views.preferences, name="preferences"),
    path("account/consent/", views.my_consents, name="my_consents"),
    path("account/consent/<uuid:pk>/withdraw/", views.withdraw_consent, name="withdraw_consent"),
    path("account/consent/research/", views.agree_research, name="agree_research"),
    path("account/consent/current/", views.agree_current, name="agree_current"),
    path("account/preferences/", views.my_preferences, name="my_preferences"),
]

care_patterns: list[URLPattern | URLResolver] = [
    path("patients/invite/", views.invite_patient, name="invite_patient"),
    path(
        "enrollments/<uuid:pk>/support-level/",
        views.confirm_support_level,
        name="confirm_support_level",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("welcome/", include((onboarding_patterns, "onboarding"), namespace="onboarding")),
    path("clinic/care/", include((care_patterns, "care"), namespace="care")),
]
