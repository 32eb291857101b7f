"""Message pages (namespace "messaging"): the patient's at "messages/", the care team's
view of one enrollment's thread at "clinic/messages/<enrollment id>/"."""

from django.urls import path

from trellis.messaging import views

app_name = "messaging"

urlpatterns = [
    path("messages/", views.mine, name="mine"),
    path("clinic/messages/<uuid:enrollment_id>/", views.thread, name="thread"),
]
