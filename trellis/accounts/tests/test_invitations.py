"""Staff invitations by email: sending, accepting once, and every way a link stops working."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.accounts.models import Invitation, Membership, Role, User
from trellis.accounts.services.invitations import (
    DuplicateInvitation,
    create_invitation,
    revoke_invitation,
)
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.demo.personas import DEMO_PASSWORD

NEW_PASSWORD = "willow-lantern-harbour"
LINK = re.compile(r"https?://\S+/invitations/(\S+)/")


def _invite_through_page(
    client: Client, cast: Any, email: str = "nina.new@riverside.example"
) -> Any:
    team = cast.teams[("riverside", "Mood team")]
    return client.post(
        reverse("clinic:invite"),
        {"email": email, "full_name": "Nina Novak", "role": Role.THERAPIST, "team": team.pk},
    )


def _link_from(smtp: Any, email: str) -> str:
    mails = smtp.to(email)
    assert len(mails) == 1
    match = LINK.search(mails[0].body)
    assert match, mails[0].body
    return match.group(0)


def _path(link: str) -> str:
    return link[link.index("/invitations/") :]


def test_admin_invites_a_therapist_and_the_emailed_link_works_once(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TRELLIS_BASE_URL = "https://trellis.riverside.example"
    admin = client_for("admin_avery")
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite_through_page(admin, cast)
    assert response.status_code == 302
    link = _link_from(smtp, "nina.new@riverside.example")
    assert link.startswith("https://trellis.riverside.example/invitations/")
    mail = smtp.to("nina.new@riverside.example")[0]
    assert "Riverside Community Clinic" in mail.subject
    assert "Avery" in mail.body

    token = LINK.search(link).group(1)  # type: ignore[union-attr]
    invitation = Invitation.objects.get(email="nina.new@riverside.example")
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().first())
    expected_expiry = invitation.created_at + timedelta(days=settings.TRELLIS_INVITATION_DAYS)
    assert abs((invitation.expires_at - expected_expiry).total_seconds()) < 60
    assert AuditEvent.objects.filter(
        action="invitation.create", object_id=str(invitation.pk)
    ).exists()

    visitor = Client()
    page = visitor.get(_path(link))
    assert page.status_code == 200
    assert (
        "Avery Quinn invited you to join Riverside Community Clinic as therapist"
        in page.content.decode()
    )

    accepted = visitor.post(
        _path(link),
        {"full_name": "Nina Novak", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert accepted.status_code == 302
    assert accepted["Location"].startswith(reverse("accounts:mfa_setup"))
    user = User.objects.get(email="nina.new@riverside.example")
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.team) == (
        Role.THERAPIST,
        cast.teams[("riverside", "Mood team")],
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_user == user
    assert AuditEvent.objects.filter(action="invitation.accept", actor_id=user.pk).exists()
    assert str(visitor.session["_auth_user_id"]) == str(user.pk)

    again = Client().post(
        _path(link),
        {"full_name": "Someone Else", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert Membership.objects.filter(user__email="nina.new@riverside.example").count() == 1
    rejected = AuditEvent.objects.get(action="invitation.rejected", object_id=str(invitation.pk))
    assert rejected.details["reason"] == "used"


def test_an_expired_invitation_gets_410_and_is_audited(cast: Any) -> None:
    created = timeutil.now() - timedelta(days=30)
    invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email="late@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=created,
    )
    response = Client().get(reverse("clinic:accept_invitation", kwargs={"token": token}))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    event = AuditEvent.objects.get(action="invitation.rejected", object_id=str(invitation.pk))
    assert event.details["reason"] == "expired"
    post = Client().post(
        reverse("clinic:accept_invitation", kwargs={"token": token}),
        {"full_name": "Late", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert post.status_code == 410
    assert not User.objects.filter(email="late@riverside.example").exists()


def test_a_revoked_invitation_gets_410(cast: Any, client_for: Any) -> None:
    invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email="withdrawn@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    response = client_for("admin_avery").post(
        reverse("clinic:invitation_revoke", kwargs={"pk": invitation.pk})
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditEvent.objects.filter(
        action="invitation.revoke", object_id=str(invitation.pk)
    ).exists()
    page = Client().get(reverse("clinic:accept_invitation", kwargs={"token": token}))
    assert page.status_code == 410
    assert "withdrew" in page.content.decode()


def test_an_unknown_token_gets_404_and_creates_nothing(cast: Any) -> None:
    before = AuditEvent.objects.count()
    response = Client().get(
        reverse("clinic:accept_invitation", kwargs={"token": "not-a-real-token"})
    )
    assert response.status_code == 404
    assert "do not recognise" in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_a_weak_or_mismatched_password_is_refused_without_creating_anyone(cast: Any) -> None:
    _invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email="weak@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    url = reverse("clinic:accept_invitation", kwargs={"token": token})
    weak = Client().post(
        url, {"full_name": "W", "new_password1": "password", "new_password2": "password"}
    )
    assert weak.status_code == 400
    assert 'aria-invalid="true"' in weak.content.decode()
    mismatch = Client().post(
        url, {"full_name": "W", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    )
    assert mismatch.status_code == 400
    assert not User.objects.filter(email="weak@riverside.example").exists()


def test_someone_with_an_account_elsewhere_joins_with_their_current_password(cast: Any) -> None:
    otto = cast["therapist_otto"]
    _invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email=otto.email,
        role=Role.THERAPIST,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    url = reverse("clinic:accept_invitation", kwargs={"token": token})
    page = Client().get(url)
    assert "already have a Trellis account" in page.content.decode()
    wrong = Client().post(url, {"password": "not-his-password"})
    assert wrong.status_code == 400
    assert not Membership.objects.filter(user=otto, organization=cast.clinics["riverside"]).exists()
    right = Client().post(url, {"password": DEMO_PASSWORD})
    assert right.status_code == 302
    assert Membership.objects.filter(
        user=otto, organization=cast.clinics["riverside"], role=Role.THERAPIST
    ).exists()
    assert User.objects.get(pk=otto.pk).check_password(DEMO_PASSWORD)


def test_inviting_the_same_email_twice_while_the_first_is_open_is_refused(
    cast: Any, client_for: Any
) -> None:
    admin = client_for("admin_avery")
    assert _invite_through_page(admin, cast).status_code == 302
    second = _invite_through_page(admin, cast)
    assert second.status_code == 400
    assert "already an open invitation" in second.content.decode()
    assert Invitation.objects.filter(email="nina.new@riverside.example").count() == 1
    with pytest.raises(DuplicateInvitation):
        create_invitation(
            organization=cast.clinics["riverside"],
            email="NINA.new@riverside.example",
            role=Role.COACH,
            actor=cast["admin_avery"],
            now=timeutil.now(),
        )


def test_a_current_member_cannot_be_invited_again(cast: Any, client_for: Any) -> None:
    response = _invite_through_page(
        client_for("admin_avery"), cast, email=cast["therapist_maria"].email
    )
    assert response.status_code == 400
    assert "already has an account at this clinic" in response.content.decode()


def test_the_invite_form_offers_staff_roles_only(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    page = admin.get(reverse("clinic:invite"))
    assert page.status_code == 200
    assert 'value="patient"' not in page.content.decode()
    response = admin.post(
        reverse("clinic:invite"),
        {"email": "p@patients.example", "full_name": "P", "role": Role.PATIENT},
    )
    assert response.status_code == 400
    assert not Invitation.objects.filter(email="p@patients.example").exists()


def test_the_invite_form_refuses_a_team_of_another_clinic(cast: Any, client_for: Any) -> None:
    other_team = cast.teams[("hillside", "Wellbeing team")]
    response = client_for("admin_avery").post(
        reverse("clinic:invite"),
        {
            "email": "x@riverside.example",
            "full_name": "X",
            "role": Role.COACH,
            "team": other_team.pk,
        },
    )
    assert response.status_code == 400
    assert not Invitation.objects.filter(email="x@riverside.example").exists()


@pytest.mark.parametrize(
    "key", ["supervisor_ruth", "therapist_maria", "coach_jordan", "patient_alex"]
)
def test_only_admins_may_invite(cast: Any, client_for: Any, key: str) -> None:
    client = client_for(key)
    assert client.get(reverse("clinic:invite")).status_code == 403
    response = client.post(
        reverse("clinic:invite"),
        {"email": "z@riverside.example", "full_name": "Z", "role": "coach"},
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="z@riverside.example").exists()


def test_an_admin_cannot_revoke_another_clinics_invitation(cast: Any, client_for: Any) -> None:
    invitation, _token = create_invitation(
        organization=cast.clinics["hillside"],
        email="h@hillside.example",
        role=Role.COACH,
        actor=cast["admin_hana"],
        now=timeutil.now(),
    )
    response = client_for("admin_avery").post(
        reverse("clinic:invitation_revoke", kwargs={"pk": invitation.pk})
    )
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_revoking_twice_changes_nothing_the_second_time(cast: Any) -> None:
    invitation, _token = create_invitation(
        organization=cast.clinics["riverside"],
        email="twice@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    first = revoke_invitation(invitation=invitation, actor=cast["admin_avery"], now=timeutil.now())
    revoke_invitation(invitation=invitation, actor=cast["admin_avery"], now=timeutil.now())
    assert Invitation.objects.get(pk=invitation.pk).revoked_at == first.revoked_at
    assert (
        AuditEvent.objects.filter(action="invitation.revoke", object_id=str(invitation.pk)).count()
        == 1
    )


def test_no_email_is_sent_when_the_invitation_is_rolled_back(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                create_invitation(
                    organization=cast.clinics["riverside"],
                    email="rolled@riverside.example",
                    role=Role.COACH,
                    actor=cast["admin_avery"],
                    now=timeutil.now(),
                )
                raise RuntimeError("something later failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert smtp.to("rolled@riverside.example") == []
    assert not Invitation.objects.filter(email="rolled@riverside.example").exists()


def test_wrong_passwords_on_an_invitation_count_towards_the_throttle(
    cast: Any, settings: Any
) -> None:
    settings.TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = 4
    otto = cast["therapist_otto"]
    _invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email=otto.email,
        role=Role.THERAPIST,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    url = reverse("clinic:accept_invitation", kwargs={"token": token})
    for _attempt in range(3):
        response = Client().post(url, {"password": "guessing-wrong"})
        assert response.status_code == 400
        assert 'aria-invalid="true"' in response.content.decode()
    fourth = Client().post(url, {"password": "guessing-wrong"})
    assert fourth.status_code == 429
    held_back = Client().post(url, {"password": DEMO_PASSWORD})
    assert held_back.status_code == 429
    assert "Please wait before trying again" in held_back.content.decode()
    assert not Membership.objects.filter(user=otto, organization=cast.clinics["riverside"]).exists()
