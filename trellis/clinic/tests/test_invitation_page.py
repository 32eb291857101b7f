"""The invitation page names the role in running text in lower case ("as patient")."""

from __future__ import annotations

from types import SimpleNamespace

from django.template.loader import render_to_string


def test_the_invitation_names_the_role_in_lower_case() -> None:
    invitation = SimpleNamespace(
        invited_by=None,
        organization=SimpleNamespace(name="Riverside"),
        get_role_display="Patient",
    )
    page = render_to_string("clinic/accept_invitation.html", {"invitation": invitation})
    assert "You are invited to join Riverside as patient." in page
