"""The simulated clinic in the database: patients made and played through Trellis's own
services, what Trellis refuses counted and never forced, the ground truth written beside,
and a second run adding nobody."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from trellis.alerts.models import Alert, AlertKind, SafetyEvent
from trellis.appointments.models import Appointment, AppointmentStatus, WeeklySlot
from trellis.audit.models import AuditEvent
from trellis.care.models import Consent, ConsentKind, Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.engagement.models import EngagementEvent
from trellis.insights import clinic_sim
from trellis.insights.clinic_sim import _answers
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.nudges.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PATIENTS, WEEKS, SEED = 12, 4, 77


@pytest.fixture
def simulated(cast: Any, tmp_path: Path) -> clinic_sim.Populated:
    clinic = cast.clinics["riverside"]
    return clinic_sim.populate(
        clinic,
        publish_test_pack(),
        clinic_sim.supporters_at(clinic),
        patients=PATIENTS,
        weeks=WEEKS,
        seed=SEED,
        now=timeutil.now(),
        out=tmp_path,
    )


def test_answers_add_up_within_each_items_range() -> None:
    assert _answers(12, 9, last=0) == {
        "q1": 2, "q2": 2, "q3": 2, "q4": 2, "q5": 1, "q6": 1, "q7": 1, "q8": 1, "q9": 0,
    }  # fmt: skip
    for total in range(0, 25):
        answers = _answers(total, 9, last=0)
        assert sum(answers.values()) == total and answers["q9"] == 0
        assert all(0 <= v <= 3 for v in answers.values())
    assert _answers(13, 9, last=1)["q9"] == 1 and sum(_answers(13, 9, last=1).values()) == 13
    for total in range(8, 41):
        answers = _answers(total, 8, low=1, high=5)
        assert sum(answers.values()) == total and all(1 <= v <= 5 for v in answers.values())
    assert list(_answers(21, 7)) == [f"q{n}" for n in range(1, 8)]


def test_patients_are_made_through_the_services_with_their_consents_and_eheals(
    simulated: clinic_sim.Populated, cast: Any
) -> None:
    enrollments = simulated.enrollments
    assert len(enrollments) == PATIENTS
    now = timeutil.now()
    for enrollment in enrollments:
        assert enrollment.organization == cast.clinics["riverside"]
        assert now - timedelta(weeks=WEEKS) <= enrollment.started_at <= now
        assert enrollment.patient.email.startswith(f"sim-{SEED}-")
        team = list(enrollment.care_team.filter(active=True))
        assert (len(team) == 0) == (enrollment.support_level == SupportLevel.SELF_GUIDED)
        answered = {
            c.document.kind: c.agreed for c in Consent.objects.filter(user=enrollment.patient)
        }
        assert answered[ConsentKind.AUTOMATION] and answered[ConsentKind.TREATMENT]
        assert (
            QuestionnaireResponse.objects.filter(enrollment=enrollment, instrument="eHEALS").count()
            == 1
        )
    # Each service wrote its own audit rows (the getting-started consents, for one).
    assert AuditEvent.objects.filter(action="onboarding.start").count() >= PATIENTS


def test_the_simulated_days_are_played_through_the_services(
    simulated: clinic_sim.Populated,
) -> None:
    ids = [e.pk for e in simulated.enrollments]
    events = Counter(
        EngagementEvent.objects.filter(enrollment_id__in=ids).values_list("type", flat=True)
    )
    played = simulated.played
    assert played["login"] == events["login"] > 0
    assert played["step_completed"] == events["step_completed"] > 0
    assert played["mood_checkin"] == events["mood_checkin"] > 0
    assert played["exercise_rated"] == events["exercise_rated"]
    # eHEALS in getting started writes one more each.
    assert played["questionnaire_submitted"] + PATIENTS == events["questionnaire_submitted"]
    assert played["questionnaire_submitted"] > 0
    assert played["reminder_sent"] == events["reminder_sent"] > 0
    assert played["reminder_opened"] == events["reminder_opened"]
    assert played["message_sent"] == events["message_sent"]
    # The care team's messages: played through messaging, each with its event.
    assert (
        Message.objects.filter(thread__enrollment_id__in=ids, from_patient=False).count()
        == played["care_team_message"]
        == events["care_team_message"]
        > 0
    )
    # A reminder the clinic's limits held back (caps) is recorded, not sent; one that came
    # due in quiet hours went when they ended.
    reminders = Delivery.objects.filter(enrollment_id__in=ids, template="exercise_today")
    assert reminders.count() == played["reminder_sent"] + simulated.refused["reminder_sent"]
    assert reminders.filter(status__in=["sent", "delivered"]).count() == played["reminder_sent"]
    # Nothing lands after now, and every event belongs to its enrollment's own time.
    now = timeutil.now()
    for enrollment in simulated.enrollments:
        times = EngagementEvent.objects.filter(enrollment=enrollment).values_list(
            "occurred_at", flat=True
        )
        assert all(enrollment.started_at <= t <= now for t in times)


def test_safety_answers_and_sessions_run_through_their_own_pathways(cast: Any) -> None:
    clinic = cast.clinics["riverside"]
    done = clinic_sim.populate(
        clinic,
        publish_test_pack(),
        clinic_sim.supporters_at(clinic),
        patients=30,
        weeks=6,
        seed=3,
        now=timeutil.now(),
    )
    ids = [e.pk for e in done.enrollments]
    # An item-9 answer above 0: the safety event, its urgent alert and its engagement event.
    safety = SafetyEvent.objects.filter(enrollment_id__in=ids)
    assert safety.exists(), "this cohort has PHQ-9 answers with item 9 above 0"
    assert Alert.objects.filter(enrollment_id__in=ids, kind=AlertKind.SAFETY).count() == (
        safety.count()
    )
    assert EngagementEvent.objects.filter(enrollment_id__in=ids, type="safety_event").count() == (
        safety.count()
    )
    # Live sessions: booked in the therapists' weekly time, then attended.
    therapist_assisted = [
        e for e in done.enrollments if e.support_level == SupportLevel.THERAPIST_ASSISTED
    ]
    sessions = Appointment.objects.filter(enrollment__in=therapist_assisted)
    assert sessions.count() == done.played["appointment_attended"] > 0
    assert set(sessions.values_list("status", flat=True)) == {AppointmentStatus.ATTENDED}
    first_start = min(e.started_at for e in done.enrollments).date()
    for therapist in clinic_sim.supporters_at(clinic)["therapist_assisted"]:
        slot = WeeklySlot.objects.get(
            supporter=therapist,
            weekday=clinic_sim.SESSION_WEEKDAY,
            start_time=clinic_sim.SESSION_FROM,
        )
        assert slot.valid_from <= first_start


def test_the_ground_truth_is_written_by_enrollment_id(
    simulated: clinic_sim.Populated,
) -> None:
    assert simulated.truth is not None
    truth = pl.read_parquet(simulated.truth)
    assert set(truth["enrollment_id"]) == {str(e.pk) for e in simulated.enrollments}
    assert set(truth.columns) == {"enrollment_id", "class", "left_on_day", "hazard", "quiet"}
    assert all(len(h) == WEEKS * 7 for h in truth["hazard"].to_list())


def test_running_again_adds_nobody(simulated: clinic_sim.Populated, cast: Any) -> None:
    before = (Enrollment.objects.count(), EngagementEvent.objects.count())
    clinic = cast.clinics["riverside"]
    again = clinic_sim.populate(
        clinic,
        publish_test_pack(),
        clinic_sim.supporters_at(clinic),
        patients=PATIENTS,
        weeks=WEEKS,
        seed=SEED,
        now=timeutil.now(),
    )
    assert again.enrollments == [] and sum(again.played.values()) == 0
    assert (Enrollment.objects.count(), EngagementEvent.objects.count()) == before


def test_the_command_makes_them_at_the_clinic_and_refuses_an_unknown_one(
    cast: Any, tmp_path: Path
) -> None:
    from io import StringIO

    publish_test_pack()
    out = StringIO()
    call_command(
        "simulate",
        "--patients", "3", "--weeks", "2", "--seed", "5",
        "--organization", "riverside", "--truth", str(tmp_path),
        stdout=out,
    )  # fmt: skip
    assert "Simulated 3 patients at Riverside" in out.getvalue()
    assert (tmp_path / "truth.parquet").exists()
    with pytest.raises(CommandError, match="No clinic with the short name 'nowhere'"):
        call_command(
            "simulate", "--patients", "3", "--weeks", "2", "--seed", "5",
            "--organization", "nowhere", stdout=StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="--out DIR"):
        call_command("simulate", "--patients", "3", "--weeks", "2", "--seed", "5")
