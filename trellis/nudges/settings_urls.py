"""The clinic's reminder settings, mounted at clinic/reminders/ (namespace "reminders")."""

from django.urls import URLPattern, URLResolver, path

from trellis.nudges import settings_views as views

app_name = "reminders"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="overview"),
    path("rules/<uuid:pk>/", views.edit_rule, name="rule"),
    path("rules/<uuid:pk>/remove/", views.remove_program_rule, name="remove_rule"),
    path("rules/for-program/", views.add_program_rule, name="add_program_rule"),
    path("decision-points.csv", views.export_decisions, name="export"),
]
