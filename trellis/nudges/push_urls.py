"""Web-push routes (namespace "nudges_push", mounted at the root in trellis/urls.py): the
public key a browser subscribes with, subscribing and unsubscribing a device, and the link
a push notification opens."""

from django.urls import path

from trellis.nudges import push_views

app_name = "nudges_push"

urlpatterns = [
    path("nudges/push/key/", push_views.public_key, name="key"),
    path("nudges/push/subscriptions/", push_views.subscribe, name="subscribe"),
    path("nudges/push/subscriptions/remove/", push_views.unsubscribe, name="unsubscribe"),
    path("nudges/push/open/<str:token>/", push_views.opened, name="opened"),
]
