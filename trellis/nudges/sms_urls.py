"""Text-message routes (namespace "nudges_sms", mounted at the root in trellis/urls.py):
the SMS provider's delivery-status and inbound-text callbacks, and the answer page a
session reminder links to."""

from django.urls import path

from trellis.nudges import sms_views

app_name = "nudges_sms"

urlpatterns = [
    path("nudges/sms/status/", sms_views.status_callback, name="status"),
    path("nudges/sms/inbound/", sms_views.inbound, name="inbound"),
    path("nudges/session/<str:token>/", sms_views.answer, name="answer"),
]
