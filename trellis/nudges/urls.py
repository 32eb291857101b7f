"""The routes of nudges: notifications, a nudge's opening link, unsubscribe."""

from django.urls import path

from trellis.nudges import views

app_name = "nudges"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.mark_all_read, name="mark_all_read"),
    path("notifications/<uuid:pk>/read/", views.mark_read, name="mark_read"),
    path("notifications/resume/", views.resume, name="resume"),
    path("n/<uuid:pk>/", views.open_nudge, name="open"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
