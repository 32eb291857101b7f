"""The alert pages: inbox, one alert, acknowledging, on-call set-up, and the set-up warnings."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from trellis.accounts.services import set_membership_active
from trellis.alerts import safety
from trellis.alerts.models import Alert, AlertState
from trellis.alerts.tests.helpers import (
    alex_with_maria,
    casey_self_guided,
    clear_on_call,
    item9_alert,
)
from trellis.audit.models import AuditEvent
from trellis.core import timeutil

pytestmark = pytest.mark.django_db


def _raise(cast: Any) -> Alert:
    now = timeutil.now()
    return item9_alert(alex_with_maria(cast), 1, at=now, now=now)


def test_inbox_lists_my_open_alert_with_reason_patient_and_time_left(
    cast: Any, client_for: Any
) -> None:
    alert = _raise(cast)
    page = client_for("therapist_maria").get(reverse("alerts:inbox"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alex Rivera" in html
    assert "Answered &#x27;Several days&#x27; to PHQ-9 question 9" in html
    assert "minutes left before it goes to a supervisor" in html
    assert reverse("alerts:detail", kwargs={"pk": alert.pk}) in html
    # Raised time shown in the clinic's time zone (Riverside: New York).
    assert ("EST" in html) or ("EDT" in html)
    # The navigation counts it.
    assert "Alerts (1 urgent)" in html


def test_inbox_of_someone_else_does_not_list_the_alert(cast: Any, client_for: Any) -> None:
    _raise(cast)
    html = client_for("therapist_sam").get(reverse("alerts:inbox")).content.decode()
    assert "Alex Rivera" not in html
    assert "urgent)" not in html


def test_supervisor_sees_the_clinics_other_open_safety_alerts(cast: Any, client_for: Any) -> None:
    _raise(cast)
    html = client_for("supervisor_ruth").get(reverse("alerts:inbox")).content.decode()
    assert "Other open safety alerts at your clinic" in html
    assert "Alex Rivera" in html


def test_opening_an_alert_is_audited_as_a_read_of_the_patients_record(
    cast: Any, client_for: Any
) -> None:
    alert = _raise(cast)
    page = client_for("therapist_maria").get(reverse("alerts:detail", kwargs={"pk": alert.pk}))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Thoughts that you would be better off dead" in html  # the question asked
    assert "Several days" in html
    assert "Maria Lindqvist" in html  # who is responsible
    assert "never replaces clinical judgement" in html
    read = AuditEvent.objects.filter(action="alert.view").latest("id")
    assert read.patient_id == cast["patient_alex"].pk
    assert read.actor_id == cast["therapist_maria"].pk


def test_acknowledging_from_the_page_records_the_note(cast: Any, client_for: Any) -> None:
    alert = _raise(cast)
    url = reverse("alerts:acknowledge", kwargs={"pk": alert.pk})
    response = client_for("therapist_maria").post(url, {"note": "Called Alex; safety plan."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.action_note == "Called Alex; safety plan."
    page = client_for("therapist_maria").get(reverse("alerts:detail", kwargs={"pk": alert.pk}))
    assert "Called Alex; safety plan." in page.content.decode()


def test_acknowledging_without_a_note_is_a_400_with_a_field_message_and_writes_nothing(
    cast: Any, client_for: Any
) -> None:
    alert = _raise(cast)
    before = AuditEvent.objects.count()
    response = client_for("therapist_maria").post(
        reverse("alerts:acknowledge", kwargs={"pk": alert.pk}), {"note": "  "}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="note-error"' in html
    assert 'aria-describedby="note-hint note-error"' in html
    assert "Write what you did" in html
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and alert.action_note == ""
    assert AuditEvent.objects.count() == before


def test_acknowledging_an_acknowledged_alert_is_a_409(cast: Any, client_for: Any) -> None:
    alert = _raise(cast)
    safety.acknowledge(alert, actor=cast["therapist_maria"], note="Called.", now=timeutil.now())
    response = client_for("supervisor_ruth").post(
        reverse("alerts:acknowledge", kwargs={"pk": alert.pk}), {"note": "Me too."}
    )
    assert response.status_code == 409
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast["therapist_maria"]


@pytest.mark.parametrize("who", ["patient_alex", "researcher_lee"])
def test_patients_and_researchers_get_403(cast: Any, client_for: Any, who: str) -> None:
    alert = _raise(cast)
    client = client_for(who)
    assert client.get(reverse("alerts:inbox")).status_code == 403
    assert client.get(reverse("alerts:detail", kwargs={"pk": alert.pk})).status_code == 403


@pytest.mark.parametrize("who", ["therapist_otto", "admin_hana"])
def test_another_clinics_alert_is_a_404(cast: Any, client_for: Any, who: str) -> None:
    alert = _raise(cast)
    client = client_for(who)
    assert client.get(reverse("alerts:detail", kwargs={"pk": alert.pk})).status_code == 404
    response = client.post(
        reverse("alerts:acknowledge", kwargs={"pk": alert.pk}), {"note": "Called."}
    )
    assert response.status_code == 404
    assert Alert.objects.get(pk=alert.pk).state == AlertState.OPEN


def test_on_call_page_sets_a_teams_clinician_and_is_audited(cast: Any, client_for: Any) -> None:
    team = cast.teams[("riverside", "Mood team")]
    client = client_for("admin_avery")
    page = client.get(reverse("alerts:on_call"))
    assert page.status_code == 200
    assert "Mood team" in page.content.decode()
    response = client.post(
        reverse("alerts:on_call_team", kwargs={"pk": team.pk}),
        {f"team-{team.pk}-clinician": str(cast["supervisor_ruth"].pk)},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.on_call_clinician == cast["supervisor_ruth"]
    assert AuditEvent.objects.filter(action="team.on_call_change", object_id=str(team.pk)).exists()


def test_on_call_page_refuses_a_coach_with_a_field_message(cast: Any, client_for: Any) -> None:
    team = cast.teams[("riverside", "Mood team")]
    response = client_for("supervisor_ruth").post(
        reverse("alerts:on_call_team", kwargs={"pk": team.pk}),
        {f"team-{team.pk}-clinician": str(cast["coach_jordan"].pk)},
    )
    assert response.status_code == 400
    team.refresh_from_db()
    assert team.on_call_clinician == cast["therapist_sam"]


def test_another_clinics_team_is_a_404_on_the_on_call_page(cast: Any, client_for: Any) -> None:
    team = cast.teams[("hillside", "Wellbeing team")]
    response = client_for("admin_avery").post(
        reverse("alerts:on_call_team", kwargs={"pk": team.pk}),
        {f"team-{team.pk}-clinician": str(cast["therapist_maria"].pk)},
    )
    assert response.status_code == 404


def test_admin_home_and_settings_warn_when_a_team_has_no_on_call_clinician(
    cast: Any, client_for: Any
) -> None:
    client = client_for("admin_avery")
    warning = "Riverside Community Clinic, Mood team: no on-call clinician for safety alerts"
    assert warning not in client.get(reverse("clinic:home")).content.decode()
    clear_on_call(cast, "riverside", "Mood team")
    for name in ("clinic:home", "clinic:settings"):
        html = client.get(reverse(name)).content.decode()
        assert warning in html
        assert reverse("alerts:on_call") in html
    # A therapist is not the one to fix it, so is not shown the warning.
    assert warning not in client_for("therapist_maria").get(reverse("clinic:home")).content.decode()


def test_trellis_check_reports_teams_without_on_call_and_still_exits_0_in_development(
    cast: Any,
) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    out = io.StringIO()
    call_command("deploycheck", stdout=out)
    text = out.getvalue()
    assert "! Riverside Community Clinic, Mood team: no on-call clinician for safety alerts" in text
    assert "Anxiety team: no on-call" not in text
    assert "no active supervisor" not in text
    # With Hillside's only supervisor suspended, nobody is left to escalate to.

    set_membership_active(
        membership=cast.memberships["supervisor_mika"], active=False, actor=cast["admin_hana"]
    )
    out = io.StringIO()
    call_command("deploycheck", stdout=out)
    assert "Hillside Wellbeing Service: no active supervisor" in out.getvalue()


def test_trellis_check_in_production_counts_a_missing_on_call_clinician_as_an_error(
    cast: Any,
) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("deploycheck", "--production", stdout=out)
    assert exit_.value.code == 1
    assert "✗ Riverside Community Clinic, Mood team: no on-call clinician" in out.getvalue()


def test_an_escalated_alert_shows_who_has_it_now(cast: Any, client_for: Any) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    now = timeutil.now()
    alert = item9_alert(casey_self_guided(cast), at=now, now=now)
    html = client_for("supervisor_ruth").get(reverse("alerts:inbox")).content.decode()
    assert "Escalated to Ruth Okafor" in html
    detail = client_for("supervisor_ruth").get(reverse("alerts:detail", kwargs={"pk": alert.pk}))
    assert "went straight to a supervisor" in detail.content.decode()
    assert alert.escalate_after == now + timedelta(minutes=60)
