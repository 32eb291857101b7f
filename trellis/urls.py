"""Every URL of Trellis. Each app owns its own url module; the authorization matrix
test (tests/test_authorization_matrix.py) must name every pattern listed here."""

from django.urls import include, path

from trellis.api import api

urlpatterns = [
    # First: the API is what apps call most, and no page's address starts with api/v1/,
    # so its requests skip trying every page's pattern on the way.
    path("api/v1/", api.urls),
    path("", include("trellis.core.urls")),
    path("", include("trellis.clinic.urls")),
    path("accounts/", include("trellis.signin.urls")),
    path("clinic/audit/", include("trellis.clinic.audit_urls")),
    path("clinic/alerts/", include("trellis.alerts.urls")),
    path("clinic/reminders/", include("trellis.nudges.settings_urls")),
    path("clinic/insights/reports/", include("trellis.insights.report_urls")),
    path("clinic/insights/", include("trellis.insights.urls")),
    path("clinic/caseload/", include("trellis.workspace.urls")),
    path("", include("trellis.journey.urls")),
    path("", include("trellis.onboarding.urls")),
    path("", include("trellis.measures.urls")),
    path("", include("trellis.messaging.urls")),
    path("", include("trellis.appointments.urls")),
    path("", include("trellis.nudges.sms_urls")),
    path("", include("trellis.nudges.urls")),
    path("", include("trellis.nudges.push_urls")),
    path("fhir/R4/", include("trellis.interop.fhir_urls")),
    path("", include("trellis.interop.urls")),
    path("docs/api/", include("trellis.apidocs")),
]

handler400 = "trellis.clinic.views.errors.bad_request"
handler403 = "trellis.clinic.views.errors.permission_denied"
handler404 = "trellis.clinic.views.errors.page_not_found"
handler500 = "trellis.clinic.views.errors.server_error"
