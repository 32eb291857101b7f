"""A clinic's reports: clinic/insights/reports/<clinic>/ (namespace "insights_reports")."""

from django.urls import path

from trellis.insights import report_views

app_name = "insights_reports"

urlpatterns = [
    path("<slug:clinic>/", report_views.index, name="index"),
    path("<slug:clinic>/<str:name>/", report_views.report, name="report"),
    path("<slug:clinic>/<str:name>/csv", report_views.report_csv, name="csv"),
]
