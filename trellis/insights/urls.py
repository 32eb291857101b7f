from django.urls import path

from trellis.insights import views

app_name = "insights"

urlpatterns = [
    path("model/", views.model, name="model"),
]
