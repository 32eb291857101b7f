"""Session pages (namespace "sessions"): the patient's under "sessions/", staff pages under
"clinic/sessions/" (mounted at the root in trellis/urls.py)."""

from django.urls import path

from trellis.appointments import views

app_name = "sessions"

urlpatterns = [
    path("sessions/", views.mine, name="mine"),
    path("sessions/book/", views.book, name="book"),
    path("sessions/book/day/", views.day, name="day"),
    path("sessions/book/confirm/", views.confirm, name="confirm"),
    path("sessions/<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("sessions/<uuid:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("clinic/sessions/", views.clinic, name="clinic"),
    path("clinic/sessions/availability/", views.availability, name="availability"),
    path("clinic/sessions/availability/slots/", views.slot_add, name="slot_add"),
    path(
        "clinic/sessions/availability/slots/<uuid:slot_id>/delete/",
        views.slot_delete,
        name="slot_delete",
    ),
    path("clinic/sessions/availability/days-off/", views.exception_add, name="exception_add"),
    path(
        "clinic/sessions/availability/days-off/<uuid:exception_id>/delete/",
        views.exception_delete,
        name="exception_delete",
    ),
    path("clinic/sessions/availability/options/", views.options, name="options"),
    path(
        "clinic/sessions/<uuid:appointment_id>/attendance/",
        views.attendance,
        name="attendance",
    ),
]
