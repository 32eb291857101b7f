"""Signing in and out, two-step verification, passwords and My account (/accounts/)."""

from django.urls import URLPattern, URLResolver, path

from trellis.signin import views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    # Everything under mfa/ stays reachable while a second step is still owed.
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("security/", views.security, name="security"),
    path("security/password/", views.password_change, name="password_change"),
    path("language/", views.language, name="language"),
    path("security/time-zone/", views.time_zone, name="time_zone"),
    path("security/recovery-codes/", views.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("security/mfa/disable/", views.mfa_disable, name="mfa_disable"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password_reset_sent"),
    path("password-reset/done/", views.password_reset_complete, name="password_reset_complete"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
]
