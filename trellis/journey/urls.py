"""The patient's pages (namespace "journey"), mounted at the site root.

The manifest and the service worker live at the root too, so the worker's scope is "/".
"""

from django.urls import path

from trellis.journey import views

app_name = "journey"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("steps/<slug:step_key>/", views.step, name="step"),
    path("steps/<slug:step_key>/start/", views.start, name="start"),
    path("steps/<slug:step_key>/complete/", views.complete, name="complete"),
    path("steps/<slug:step_key>/done/", views.step_done, name="step_done"),
    path("steps/<slug:step_key>/rate/", views.rate, name="rate"),
    path("steps/<slug:step_key>/activity/", views.activity_done, name="activity_done"),
    path("journal/", views.journal, name="journal"),
    path("journal/<uuid:entry_id>/share/", views.journal_share, name="journal_share"),
    path("mood/", views.mood, name="mood"),
    path("story/", views.story, name="story"),
    path("story/chapters/<slug:chapter_key>/", views.chapter, name="chapter"),
    path("programs/<uuid:enrollment_id>/choose/", views.choose_program, name="choose_program"),
    path("settings/simple-mode/", views.simple_mode, name="simple_mode"),
    path("offline/", views.offline, name="offline"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]
