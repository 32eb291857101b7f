"""The supporter's workspace (namespace "caseload", mounted at /clinic/caseload/)."""

from django.urls import URLPattern, URLResolver, path

from trellis.workspace import views

app_name = "caseload"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.caseload_list, name="list"),
    path("supervision/", views.supervision, name="supervision"),
    path("enrollments/<uuid:pk>/", views.patient_record, name="record"),
    path("enrollments/<uuid:pk>/notes/", views.add_note, name="add_note"),
    path("enrollments/<uuid:pk>/step-change/", views.suggest_step, name="suggest_step"),
    path("enrollments/<uuid:pk>/reassign/", views.reassign, name="reassign"),
    path(
        "enrollments/<uuid:pk>/sessions/<uuid:appointment_id>/prepare/",
        views.prepare_session,
        name="prepare_session",
    ),
    path("step-changes/<uuid:pk>/confirm/", views.confirm_step, name="confirm_step"),
    path("step-changes/<uuid:pk>/decline/", views.decline_step, name="decline_step"),
]
