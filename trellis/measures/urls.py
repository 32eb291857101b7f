"""Questionnaire and progress pages (namespace "measures").

Patient pages are mounted under "questionnaires/" and "progress/"; the staff page about
one patient under "clinic/patients/<id>/progress/" (see trellis/urls.py).
"""

from django.urls import path

from trellis.measures import views

app_name = "measures"

urlpatterns = [
    path("questionnaires/", views.due, name="due"),
    path("questionnaires/<uuid:assignment_id>/", views.answer, name="answer"),
    path("questionnaires/results/<uuid:response_id>/", views.result, name="result"),
    path("progress/", views.progress, name="progress"),
    path(
        "clinic/patients/<uuid:patient_id>/progress/",
        views.patient_progress,
        name="patient_progress",
    ),
]
