"""The clinic's own pages: home, people, invitations, settings and API tokens."""

from django.urls import URLPattern, URLResolver, path

from trellis.clinic.views import clinic as views
from trellis.clinic.views import outreach

app_name = "clinic"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("clinic/people/", views.people, name="people"),
    path("clinic/people/<uuid:pk>/", views.person, name="person"),
    path("clinic/people/<uuid:pk>/role/", views.person_role, name="person_role"),
    path("clinic/people/<uuid:pk>/access/", views.person_active, name="person_active"),
    path("clinic/invitations/new/", views.invite, name="invite"),
    path("clinic/invitations/<uuid:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("clinic/settings/", views.clinic_settings, name="settings"),
    path("clinic/deliveries/", outreach.delivery_rates_page, name="delivery_rates"),
    path("clinic/tokens/", views.tokens, name="tokens"),
    path("clinic/tokens/<uuid:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
