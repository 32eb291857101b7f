"""The nightly dropout-risk run (trellis.insights.scoring): who is scored and how, the risk
alerts within each supporter's daily capacity among patients nobody is with yet, what
happened 14 days later, the monthly check that the model still fits, installing a model,
and the demo's model."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from trellis.accounts.models import Role, User
from trellis.accounts.services import create_person, set_membership_active
from trellis.alerts.models import Alert, AlertKind, AlertState, Severity
from trellis.alerts.services import acknowledge_alert, close_alert, raise_alert
from trellis.alerts.tests.helpers import T0
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.audit.models import AuditEvent
from trellis.care import consent as care_consent
from trellis.care.models import (
    CareTeamMember,
    Consent,
    ConsentDocument,
    ConsentKind,
    Enrollment,
    EnrollmentStatus,
    SupportLevel,
)
from trellis.care.services import end_enrollment
from trellis.demo import risk as demo_risk
from trellis.engagement.events import emit
from trellis.insights import scoring, wording
from trellis.insights.models import RiskCheck, RiskMethod, RiskModel, RiskScore, RiskSettings
from trellis.insights.risk import features, learn, simulate
from trellis.insights.tests import risk_frames
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.services import send_message
from trellis.nudges.models import Channel, Delivery
from trellis.onboarding.services import enroll_patient

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
NIGHT = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)  # 9 days and 13 hours after T0
TONIGHT = date(2026, 3, 12)


@dataclasses.dataclass(frozen=True)
class Trained:
    cohort: simulate.Cohort
    model: learn.Model


@functools.cache
def trained_once() -> Trained:
    """A model trained on 700 simulated enrollments, once for every test module that uses
    it (training is the slow part; installing it is quick)."""
    cohort = simulate.simulate(700, 8, seed=5)
    return Trained(cohort, learn.train(cohort.events, cohort.enrollments))


@pytest.fixture
def trained() -> Trained:
    return trained_once()


@pytest.fixture
def riverside(cast: Any) -> Any:
    return cast.clinics["riverside"]


@pytest.fixture
def installed(riverside: Any, trained: Trained) -> RiskModel:
    """Riverside's model, installed by Trellis before the patients started."""
    return scoring.install(
        riverside, trained.model, trained_on="A simulated cohort", actor=None, now=T0 - DAY
    )


def automation(version: int) -> ConsentDocument:
    care_consent.current_documents(None)  # the default texts, back after a flush
    return ConsentDocument.objects.get(
        organization__isnull=True, kind=ConsentKind.AUTOMATION, locale="en", version=version
    )


def agrees(patient: User, version: int = 3, *, at: datetime = T0) -> Consent:
    return care_consent.give_consent(automation(version), actor=patient, now=at)


def enroll(
    cast: Any,
    who: str | User,
    supporters: tuple[str, ...] = ("therapist_maria",),
    *,
    started: datetime = T0,
    version: int | None = 3,
) -> Enrollment:
    """A patient of the cast (or any patient) enrolled in the test program with these
    supporters (the first is the primary one), who agreed to the automated-features text of
    `version` (None: never answered it)."""
    patient = cast[who] if isinstance(who, str) else who
    organization = patient.memberships.get().organization
    enrollment = enroll_patient(
        patient=patient,
        program_version=publish_test_pack(),
        support_level=SupportLevel.COACHED if supporters else SupportLevel.SELF_GUIDED,
        supporters=[cast[s] for s in supporters],
        actor=cast["supervisor_mika" if organization.slug == "hillside" else "supervisor_ruth"],
        now=started,
        organization=organization,
    )
    if version is not None:
        agrees(patient, version)
    return enrollment


def new_patient(cast: Any, name: str) -> User:
    """One more Riverside patient, for tests that need more than the cast's five."""
    email = f"{name.lower().replace(' ', '.')}@patients.example"
    return create_person(
        organization=cast.clinics["riverside"],
        email=email,
        full_name=name,
        role=Role.PATIENT,
        actor=None,
    ).user


def score(
    enrollment: Enrollment,
    risk: float | None,
    model: RiskModel | None,
    *,
    reasons: tuple[str, ...] = (),
    night: datetime = NIGHT,
    dropped: int | None = None,
) -> RiskScore:
    """A night's score as the scoring run writes it (the model's when `model` is given)."""
    return RiskScore.objects.create(
        enrollment=enrollment,
        scored_on=night.date(),
        scored_at=night,
        as_of_day=scoring.as_of_day(enrollment, night),
        method=RiskMethod.MODEL if model else RiskMethod.RULES,
        model=model,
        risk=risk,
        reasons=list(reasons),
        dropped=dropped,
    )


def risk_alerts(**filters: Any) -> list[Alert]:
    return list(Alert.objects.filter(kind=AlertKind.DROPOUT_RISK, **filters).order_by("raised_at"))


# --- who is scored ---------------------------------------------------------------------


def test_only_active_enrollments_of_patients_who_agreed_to_version_3_are_scored(
    cast: Any, riverside: Any
) -> None:
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair", ("coach_jordan",))
    enroll(cast, "patient_casey", ("therapist_sam",), version=2)  # an earlier text
    enroll(cast, "patient_devon", ("therapist_sam",), version=None)
    care_consent.withdraw_consent(
        agrees(cast["patient_devon"]), actor=cast["patient_devon"], now=T0 + DAY
    )
    enroll(cast, "patient_emery", (), version=None)
    Consent.objects.create(
        user=cast["patient_emery"], document=automation(3), agreed=False, answered_at=T0
    )
    ended = enroll(cast, new_patient(cast, "Gale Ended"))
    end_enrollment(
        ended,
        status=EnrollmentStatus.COMPLETED,
        reason="Finished the program",
        actor=cast["therapist_maria"],
        now=T0 + 5 * DAY,
    )
    enroll(cast, "patient_farah", ("therapist_otto",))  # Hillside's

    night = scoring.score_clinic(riverside, now=NIGHT)

    assert (night.scored, night.by_rules, night.alerts, night.skipped_no_consent) == (2, 2, 0, 3)
    assert {s.enrollment_id for s in RiskScore.objects.all()} == {alex.pk, blair.pk}


def test_without_a_model_each_patient_gets_a_rules_row_with_no_risk_and_no_risk_alert(
    cast: Any, riverside: Any
) -> None:
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair", ("coach_jordan",), started=T0 + 3 * DAY)
    assert scoring.active_model(riverside) is None

    scoring.score_clinic(riverside, now=NIGHT)

    rows = {
        s.enrollment_id: (s.method, s.risk, s.model_id, s.reasons, s.as_of_day, s.dropped)
        for s in RiskScore.objects.all()
    }
    assert rows == {
        alex.pk: (RiskMethod.RULES, None, None, [], 9, None),
        blair.pk: (RiskMethod.RULES, None, None, [], 6, None),
    }
    assert set(RiskScore.objects.values_list("scored_on", "scored_at")) == {(TONIGHT, NIGHT)}
    assert risk_alerts() == []


def test_with_a_model_each_patient_gets_its_risk_and_reasons_at_their_day(
    cast: Any, riverside: Any, installed: RiskModel, trained: Trained
) -> None:
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair", ("coach_jordan",), started=T0 + 3 * DAY)
    for day in range(9):
        emit(alex, "login", at=T0 + day * DAY + timedelta(hours=2))
    emit(blair, "reminder_sent", at=T0 + 4 * DAY)

    night = scoring.score_clinic(riverside, now=NIGHT)

    # What the model says of the same logs written out by hand in the interchange format.
    people = {
        alex.pk: risk_frames.enrollment(str(alex.pk), started_at=T0),
        blair.pk: risk_frames.enrollment(str(blair.pk), started_at=T0 + 3 * DAY),
    }
    log = risk_frames.events(
        [
            *(
                risk_frames.event(str(alex.pk), T0 + day * DAY + timedelta(hours=2), "login")
                for day in range(9)
            ),
            risk_frames.event(str(blair.pk), T0 + 4 * DAY, "reminder_sent"),
        ]
    )
    expected = {}
    for pk, day in ((alex.pk, 9), (blair.pk, 6)):
        rows = features.at_day(log, risk_frames.enrollments(people[pk]), day)
        risks, words = learn.explain(trained.model, rows)
        expected[pk] = (day, round(float(risks[0]), 4), words[0])

    scores = {s.enrollment_id: s for s in RiskScore.objects.all()}
    assert {pk: (s.as_of_day, s.risk, s.reasons) for pk, s in scores.items()} == expected
    for s in scores.values():
        assert (s.method, s.model_id, s.scored_on, s.scored_at) == (
            RiskMethod.MODEL,
            installed.pk,
            TONIGHT,
            NIGHT,
        )
        assert s.risk is not None and 0.0 <= s.risk <= 1.0
        assert s.reasons and all(isinstance(r, str) and r for r in s.reasons)
    assert (night.scored, night.by_rules, night.skipped_no_consent) == (2, 0, 0)
    assert night.alerts == len(risk_alerts())


def test_the_clinics_records_become_the_interchange_tables_the_model_reads(cast: Any) -> None:
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair", ("coach_jordan",), started=T0 + 3 * DAY)
    QuestionnaireResponse.objects.bulk_create(
        QuestionnaireResponse(
            enrollment=alex,
            instrument=instrument,
            total=total,
            submitted_at=T0 + timedelta(hours=hours),
            client_id=uuid.uuid4(),
        )
        for instrument, total, hours in (
            ("PHQ-9", 8, 24 * 7),  # a later score: the baseline is the first
            ("PHQ-9", 14, 1),
            ("GAD-7", None, 1),  # not scored
            ("GAD-7", 9, 2),
            ("eHEALS", 31, 0.5),
        )
    )
    emit(alex, "exercise_rated", at=T0 + DAY, value="4")
    emit(blair, "login", at=T0 + 4 * DAY)
    emit(alex, "reminder_sent", at=T0 + 2 * DAY)

    events, people = scoring.frames(list(Enrollment.objects.order_by("started_at")))

    assert people.rows(named=True) == [
        {
            "enrollment_id": str(alex.pk),
            "started_at": T0,
            "support_level": SupportLevel.COACHED,
            "baseline_phq9": 14,
            "baseline_gad7": 9,
            "ehealth_literacy": 31,
            "ended_at": None,
            "end_reason": "",
            "age_band": "",
            "sex": "",
        },
        {
            "enrollment_id": str(blair.pk),
            "started_at": T0 + 3 * DAY,
            "support_level": SupportLevel.COACHED,
            "baseline_phq9": None,
            "baseline_gad7": None,
            "ehealth_literacy": None,
            "ended_at": None,
            "end_reason": "",
            "age_band": "",
            "sex": "",
        },
    ]
    assert events.rows() == [
        (str(alex.pk), T0 + DAY, "exercise_rated", "", None, "4"),
        (str(blair.pk), T0 + 4 * DAY, "login", "", None, ""),
        (str(alex.pk), T0 + 2 * DAY, "reminder_sent", "", None, ""),
    ]
    assert events.schema == risk_frames.EVENT_SCHEMA
    assert people.schema == risk_frames.ENROLLMENT_SCHEMA | {"end_reason": pl.String}


def test_a_second_run_the_same_night_replaces_that_nights_scores_and_alerts_nobody_twice(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair", ("coach_jordan",))

    first = scoring.score_clinic(riverside, now=NIGHT)
    again = scoring.score_clinic(riverside, now=NIGHT + timedelta(hours=1))

    assert first.scored == again.scored == 2
    # Nobody has done anything since starting: both are well above the alert threshold.
    assert first.alerts == 2 and again.alerts == 0
    assert sorted(RiskScore.objects.values_list("enrollment_id", "scored_at")) == sorted(
        [(alex.pk, NIGHT + timedelta(hours=1)), (blair.pk, NIGHT + timedelta(hours=1))]
    )
    assert len(risk_alerts()) == 2
    scoring.score_clinic(riverside, now=NIGHT + DAY)
    assert RiskScore.objects.filter(enrollment=alex).count() == 2  # one a night


def test_an_enrollment_started_less_than_a_day_ago_is_not_scored_yet(
    cast: Any, riverside: Any
) -> None:
    alex = enroll(cast, "patient_alex", started=NIGHT - timedelta(hours=23))

    night = scoring.score_clinic(riverside, now=NIGHT)
    assert (night.scored, night.skipped_no_consent) == (0, 0)
    assert not RiskScore.objects.exists()

    scoring.score_clinic(riverside, now=NIGHT + timedelta(hours=1))
    assert list(RiskScore.objects.values_list("enrollment_id", "as_of_day")) == [(alex.pk, 1)]


def test_the_as_of_day_is_the_number_of_whole_days_since_the_start() -> None:
    enrollment = Enrollment(started_at=T0)
    assert scoring.as_of_day(enrollment, T0 + DAY - timedelta(seconds=1)) == 0
    assert scoring.as_of_day(enrollment, T0 + DAY) == 1
    assert scoring.as_of_day(enrollment, NIGHT) == 9
    assert scoring.as_of_day(enrollment, T0 - DAY) == 0


def test_every_clinic_is_scored_each_night(cast: Any, installed: RiskModel) -> None:
    enroll(cast, "patient_alex")
    enroll(cast, "patient_casey", ("therapist_sam",), version=2)
    enroll(cast, "patient_farah", ("therapist_otto",))  # Hillside, which has no model

    totals = scoring.score_all(now=NIGHT)

    assert totals == {"scored": 2, "by_rules": 1, "alerts": 1, "no_consent": 1}


# --- risk alerts -------------------------------------------------------------------------


def test_a_risk_alert_says_the_chance_and_why_and_goes_to_the_primary_supporter(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    alex = enroll(cast, "patient_alex", ("therapist_maria", "coach_jordan"))
    blair = enroll(cast, "patient_blair", ("coach_jordan",))
    because = ("no activity for 6 days", "active on 0 of the last 7 days")
    high = score(alex, 0.8312, installed, reasons=because)
    bare = score(blair, 0.5, installed)

    first, second = scoring.raise_risk_alerts(riverside, [bare, high], now=NIGHT)

    assert first.enrollment_id == alex.pk and second.enrollment_id == blair.pk
    assert (first.kind, first.severity, first.state, first.raised_at) == (
        AlertKind.DROPOUT_RISK,
        Severity.MEDIUM,
        AlertState.OPEN,
        NIGHT,
    )
    assert first.assigned_to == cast["therapist_maria"]
    assert first.reason == (
        "83% chance of no activity in the next 14 days: no activity for 6 days; "
        "active on 0 of the last 7 days"
    )
    assert first.data == {
        "risk": 0.8312,
        "reasons": list(because),
        "model": str(installed.pk),
        "score": str(high.pk),
        "as_of_day": 9,
    }
    assert second.reason == "50% chance of no activity in the next 14 days"
    assert second.assigned_to == cast["coach_jordan"]
    raised = AuditEvent.objects.get(action="alert.raised", object_id=str(first.pk))
    assert raised.patient_id == cast["patient_alex"].pk


@pytest.mark.parametrize(
    ("alert_from", "below", "at"),
    [(None, 0.4999, 0.5), (0.8, 0.7999, 0.8)],
    ids=["default 0.5", "the clinic's 0.8"],
)
def test_only_risks_at_or_above_the_clinics_threshold_are_alerted(
    cast: Any,
    riverside: Any,
    installed: RiskModel,
    alert_from: float | None,
    below: float,
    at: float,
) -> None:
    if alert_from is not None:
        RiskSettings.objects.create(organization=riverside, alert_from=alert_from)
    alex = enroll(cast, "patient_alex")
    blair = enroll(cast, "patient_blair")
    casey = enroll(cast, "patient_casey")
    scores = [score(alex, below, installed), score(blair, at, installed), score(casey, None, None)]

    raised = scoring.raise_risk_alerts(riverside, scores, now=NIGHT)

    assert [a.enrollment_id for a in raised] == [blair.pk]
    assert [a.enrollment_id for a in risk_alerts()] == [blair.pk]


def test_each_supporter_gets_their_highest_risks_first_up_to_their_daily_number(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    RiskSettings.objects.create(organization=riverside, daily_alerts_per_supporter=2)
    risks = {"patient_alex": 0.6, "patient_blair": 0.9, "patient_casey": 0.7, "patient_devon": 0.8}
    scores = [score(enroll(cast, key), risk, installed) for key, risk in risks.items()]
    emery = enroll(cast, "patient_emery", ("coach_jordan",))
    scores.append(score(emery, 0.55, installed))

    raised = scoring.raise_risk_alerts(riverside, scores, now=NIGHT)

    assert [(a.enrollment.patient.full_name, a.assigned_to) for a in raised] == [
        ("Blair Nakamura", cast["therapist_maria"]),
        ("Devon Achebe", cast["therapist_maria"]),
        ("Emery Walsh", cast["coach_jordan"]),
    ]


def test_risk_alerts_raised_in_the_last_24_hours_count_against_the_daily_number(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    RiskSettings.objects.create(organization=riverside, daily_alerts_per_supporter=2)
    maria, jordan = cast["therapist_maria"], cast["coach_jordan"]
    for key, who, at in (
        ("patient_devon", maria, NIGHT - timedelta(hours=20)),  # earlier today: counts
        ("patient_emery", maria, NIGHT - timedelta(hours=25)),  # yesterday: does not
    ):
        raise_alert(
            enroll(cast, key),
            kind=AlertKind.DROPOUT_RISK,
            severity=Severity.MEDIUM,
            reason="90% chance of no activity in the next 14 days",
            assigned_to=who,
            now=at,
        )
    raise_alert(  # another supporter's, today: does not count for Maria
        enroll(cast, new_patient(cast, "Harper Jones"), ("coach_jordan",)),
        kind=AlertKind.DROPOUT_RISK,
        severity=Severity.MEDIUM,
        reason="70% chance of no activity in the next 14 days",
        assigned_to=jordan,
        now=NIGHT - timedelta(hours=1),
    )
    alex, blair, casey = (
        enroll(cast, k) for k in ("patient_alex", "patient_blair", "patient_casey")
    )
    scores = [
        score(alex, 0.9, installed),
        score(blair, 0.8, installed),
        score(casey, 0.7, installed),
    ]

    raised = scoring.raise_risk_alerts(riverside, scores, now=NIGHT)
    assert [a.enrollment_id for a in raised] == [alex.pk]
    # The one just raised counts too: a second call the same night raises nothing more.
    assert scoring.raise_risk_alerts(riverside, scores[1:], now=NIGHT + timedelta(hours=1)) == []


def _open_alert(cast: Any, enrollment: Enrollment) -> None:
    raise_alert(
        enrollment,
        kind=AlertKind.INACTIVITY,
        severity=Severity.MEDIUM,
        reason="No activity for 6 days",
        assigned_to=cast["therapist_maria"],
        now=NIGHT - timedelta(hours=5),
    )


def _acknowledged_alert(cast: Any, enrollment: Enrollment) -> None:
    _open_alert(cast, enrollment)
    acknowledge_alert(
        Alert.objects.get(enrollment=enrollment),
        actor=cast["therapist_maria"],
        note="Called; will try again on Friday.",
        now=NIGHT - timedelta(hours=4),
    )


def _resolved_alert(cast: Any, enrollment: Enrollment) -> None:
    _open_alert(cast, enrollment)
    close_alert(
        Alert.objects.get(enrollment=enrollment),
        actor=cast["therapist_maria"],
        state=AlertState.RESOLVED,
        note="Spoke with them.",
        now=NIGHT - timedelta(hours=4),
    )


def _message(sender: str, ago: timedelta) -> Callable[[Any, Enrollment], None]:
    def send(cast: Any, enrollment: Enrollment) -> None:
        send_message(
            enrollment,
            sender=cast[sender],
            body="How are the exercises going?",
            client_id=uuid.uuid4(),
            now=NIGHT - ago,
        )

    return send


def _session(starts_in: timedelta, status: str = AppointmentStatus.BOOKED) -> Any:
    def book(cast: Any, enrollment: Enrollment) -> None:
        Appointment.objects.create(
            enrollment=enrollment,
            supporter=cast["therapist_maria"],
            starts_at=NIGHT + starts_in,
            ends_at=NIGHT + starts_in + timedelta(minutes=50),
            mode="video",
            status=status,
            booked_by=cast["therapist_maria"],
            client_id=uuid.uuid4(),
            ical_uid=f"{uuid.uuid4()}@trellis",
        )

    return book


@pytest.mark.parametrize(
    ("contact", "alerted"),
    [
        (_open_alert, False),
        (_acknowledged_alert, False),
        (_resolved_alert, True),
        (_message("therapist_maria", timedelta(days=2, hours=23)), False),
        (_message("therapist_maria", timedelta(days=3, hours=1)), True),
        (_message("patient_alex", timedelta(hours=10)), True),
        (_session(timedelta(days=2, hours=20)), False),
        (_session(timedelta(days=3, hours=1)), True),
        (_session(timedelta(days=1), AppointmentStatus.CANCELLED), True),
    ],
    ids=[
        "an open alert of another kind",
        "an acknowledged alert",
        "a resolved alert",
        "the care team wrote under 3 days ago",
        "the care team wrote over 3 days ago",
        "the patient wrote",
        "a session booked in under 3 days",
        "a session booked in over 3 days",
        "a cancelled session",
    ],
)
def test_patients_someone_is_already_with_get_no_risk_alert(
    cast: Any,
    riverside: Any,
    installed: RiskModel,
    contact: Callable[[Any, Enrollment], None],
    alerted: bool,
) -> None:
    alex = enroll(cast, "patient_alex")
    contact(cast, alex)

    raised = scoring.raise_risk_alerts(riverside, [score(alex, 0.9, installed)], now=NIGHT)

    assert [a.enrollment_id for a in raised] == ([alex.pk] if alerted else [])


def test_a_risk_alert_goes_to_an_active_care_team_member_or_to_nobody(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    emery = enroll(cast, "patient_emery", ())  # self-guided: nobody to tell
    alex = enroll(cast, "patient_alex", ("therapist_maria",))
    casey = enroll(cast, "patient_casey", ("therapist_sam", "therapist_maria"))
    CareTeamMember.objects.filter(enrollment=alex).update(active=False)
    CareTeamMember.objects.filter(enrollment=casey, supporter=cast["therapist_sam"]).update(
        active=False
    )
    scores = [score(e, 0.9, installed) for e in (emery, alex, casey)]

    raised = scoring.raise_risk_alerts(riverside, scores, now=NIGHT)

    assert [(a.enrollment_id, a.assigned_to) for a in raised] == [
        (casey.pk, cast["therapist_maria"])
    ]


# --- outcomes ----------------------------------------------------------------------------


def test_outcomes_say_whether_the_patient_did_anything_in_the_14_days_after_a_score(
    cast: Any, installed: RiskModel
) -> None:
    alex, blair, casey, devon, emery = (
        enroll(cast, key)
        for key in (
            "patient_alex",
            "patient_blair",
            "patient_casey",
            "patient_devon",
            "patient_emery",
        )
    )
    # The window is the one the model predicts: the 14 days from the end of the score's
    # as-of day (day 9 ends at T0 + 9 days, 13 hours before the night's run).
    window = T0 + 9 * DAY
    emit(alex, "login", at=NIGHT + 5 * DAY)
    emit(blair, "reminder_sent", at=NIGHT + 2 * DAY)  # Trellis's doing, not the patient's
    emit(blair, "questionnaire_overdue", at=NIGHT + 3 * DAY)
    emit(casey, "mood_checkin", at=window + 14 * DAY - timedelta(seconds=1))  # its last moment
    emit(devon, "login", at=window - timedelta(seconds=1))  # before the window
    emit(devon, "login", at=window + 14 * DAY)  # after it
    for enrollment in (alex, blair, casey, devon):
        score(enrollment, 0.5, installed)
    young = score(emery, 0.5, installed, night=NIGHT + DAY)

    assert scoring.record_outcomes(now=NIGHT + 14 * DAY + timedelta(hours=1)) == 4

    dropped = dict(RiskScore.objects.values_list("enrollment_id", "dropped"))
    assert dropped == {alex.pk: 0, blair.pk: 1, casey.pk: 0, devon.pk: 1, emery.pk: None}
    # Recorded once: a later run only looks at the scores whose 14 days have just passed.
    assert scoring.record_outcomes(now=NIGHT + 15 * DAY + timedelta(hours=1)) == 1
    assert RiskScore.objects.get(pk=young.pk).dropped == 1


# --- the monthly check -------------------------------------------------------------------

CHECKED_AT = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
# The month checked: the 30 nights whose 14 days had all passed by CHECKED_AT.
MONTH_FROM, MONTH_UNTIL = date(2026, 3, 19), date(2026, 4, 17)


def _outcomes(
    cast: Any, model: RiskModel, groups: list[tuple[float, int, int]], *, expected_auc: float
) -> None:
    """Known outcomes in the month checked, in `groups` of (risk, scores, of them dropped),
    on 4 enrollments, one score a night each; the card's held-out AUC is `expected_auc`."""
    model.card = {**model.card, "test": {**model.card["test"], "auc": expected_auc}}
    model.save(update_fields=["card"])
    pairs = [(r, int(i < d)) for r, n, d in groups for i in range(n)]
    enrollments = [
        enroll(cast, key, version=None)
        for key in ("patient_alex", "patient_blair", "patient_casey", "patient_devon")
    ]
    RiskScore.objects.bulk_create(
        RiskScore(
            enrollment=enrollments[i % 4],
            scored_on=MONTH_UNTIL - timedelta(days=i // 4),
            scored_at=datetime.combine(MONTH_UNTIL - timedelta(days=i // 4), NIGHT.time(), UTC),
            as_of_day=20,
            method=RiskMethod.MODEL,
            model=model,
            risk=risk,
            dropped=dropped,
        )
        for i, (risk, dropped) in enumerate(pairs)
    )


def test_with_no_model_there_is_nothing_to_check(cast: Any, riverside: Any) -> None:
    assert scoring.check_model(riverside, now=CHECKED_AT) is None
    assert scoring.check_all(now=CHECKED_AT) == 0
    assert not RiskCheck.objects.exists()


def test_fewer_than_100_known_outcomes_are_too_few_to_judge(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    # Risks inverted against what happened: it would not fit, if there were enough.
    _outcomes(cast, installed, [(0.9, 10, 1), (0.1, 10, 9)], expected_auc=0.9)
    alex = Enrollment.objects.get(patient=cast["patient_alex"])
    # Not in the month: too recent, too old, of an earlier model, outcome not known yet.
    score(alex, 0.1, installed, night=datetime(2026, 4, 18, 3, tzinfo=UTC), dropped=1)
    score(alex, 0.1, installed, night=datetime(2026, 3, 18, 3, tzinfo=UTC), dropped=1)
    score(alex, 0.1, installed, night=datetime(2026, 4, 1, 1, tzinfo=UTC), dropped=None)
    earlier = RiskModel.objects.create(
        organization=riverside,
        kind=installed.kind,
        model_json=installed.model_json,
        trees=installed.trees,
        trained_on="An earlier model",
        active=False,
        installed_at=T0 - 30 * DAY,
    )
    score(alex, 0.1, earlier, night=datetime(2026, 3, 25, 3, tzinfo=UTC), dropped=1)

    check = scoring.check_model(riverside, now=CHECKED_AT)

    assert check is not None
    assert (check.scores, check.fits, check.findings) == (
        20,
        True,
        ["only 20 known outcomes: too few to judge"],
    )
    assert (check.period_from, check.period_until, check.model_id) == (
        MONTH_FROM,
        MONTH_UNTIL,
        installed.pk,
    )
    assert check.auc == pytest.approx(0.1)
    assert not Delivery.objects.filter(template="model_drift").exists()


def test_estimates_that_match_what_happened_fit(
    cast: Any, riverside: Any, installed: RiskModel
) -> None:
    # Of 50 given 10%, 5 did nothing; of 50 given 90%, 45 did nothing.
    _outcomes(cast, installed, [(0.1, 50, 5), (0.9, 50, 45)], expected_auc=0.9)

    check = scoring.check_model(riverside, now=CHECKED_AT)

    assert check is not None
    assert (check.scores, check.fits, check.findings) == (100, True, [])
    assert check.auc == pytest.approx(0.9)
    assert check.ece == pytest.approx(0.0, abs=1e-9)
    audit = AuditEvent.objects.get(action="insights.model_checked")
    assert audit.details == {"scores": 100, "fits": True, "auc": check.auc, "ece": check.ece}
    assert audit.object_id == str(check.pk)
    assert not Delivery.objects.filter(template="model_drift").exists()


@pytest.mark.parametrize(
    ("groups", "findings"),
    [
        (
            [(0.9, 50, 5), (0.1, 50, 45)],
            ["AUC 0.100, against 0.900 on its card", "calibration error 0.800, above 0.05"],
        ),
        ([(0.3, 50, 5), (0.7, 50, 45)], ["calibration error 0.200, above 0.05"]),
        ([(0.5, 100, 50)], ["AUC 0.500, against 0.900 on its card"]),
    ],
    ids=["risks inverted", "miscalibrated", "no better than guessing"],
)
def test_estimates_that_drift_tell_every_active_administrator_of_the_clinic(
    cast: Any,
    riverside: Any,
    installed: RiskModel,
    groups: list[tuple[float, int, int]],
    findings: list[str],
) -> None:
    second_admin = create_person(
        organization=riverside,
        email="kim.admin@riverside.example",
        full_name="Kim Admin",
        role=Role.ADMIN,
        actor=None,
    )
    set_membership_active(membership=second_admin, active=False, actor=cast["admin_avery"])
    _outcomes(cast, installed, groups, expected_auc=0.9)

    check = scoring.check_model(riverside, now=CHECKED_AT)

    assert check is not None
    assert (check.scores, check.fits, check.findings) == (100, False, findings)
    audit = AuditEvent.objects.get(action="insights.model_checked")
    assert (audit.organization_id, audit.details["fits"]) == (riverside.pk, False)
    [told] = Delivery.objects.filter(template="model_drift")
    assert (told.recipient, told.channel, told.organization_id) == (
        cast["admin_avery"],
        Channel.IN_APP,
        riverside.pk,
    )
    assert told.context["findings"] == findings
    message = wording.build_model_drift(told)
    assert message.subject == "The dropout-risk model needs a look"
    assert message.link == reverse("insights:model")
    assert message.text.endswith("\n\n" + "\n".join(f"- {f}" for f in findings))


# --- installing a model ------------------------------------------------------------------


def test_a_model_that_learned_from_fewer_than_500_enrollments_is_refused(
    riverside: Any, trained: Trained
) -> None:
    card = {**trained.model.card, "data": {**trained.model.card["data"], "enrollments": 499}}
    small = dataclasses.replace(trained.model, card=card)

    with pytest.raises(learn.TooFew, match=r"learned from 499 enrollments; .* at least 500$"):
        scoring.install(riverside, small, trained_on="A small clinic", actor=None, now=T0)

    assert not RiskModel.objects.exists()
    assert not AuditEvent.objects.filter(action="insights.model_installed").exists()


def test_installing_a_model_replaces_the_clinics_active_one_and_is_audited(
    cast: Any, riverside: Any, trained: Trained
) -> None:
    hillside = cast.clinics["hillside"]
    theirs = scoring.install(hillside, trained.model, trained_on="Theirs", actor=None, now=T0)
    first = scoring.install(riverside, trained.model, trained_on="First", actor=None, now=T0)
    second = scoring.install(
        riverside, trained.model, trained_on="x" * 250, actor=cast["admin_avery"], now=NIGHT
    )

    states = dict(RiskModel.objects.values_list("pk", "active"))
    assert states == {theirs.pk: True, first.pk: False, second.pk: True}
    assert scoring.active_model(riverside) == second
    assert (second.kind, second.trained_on, second.installed_at) == (
        trained.model.kind,
        "x" * 200,
        NIGHT,
    )
    assert second.card == trained.model.card
    audits = AuditEvent.objects.filter(action="insights.model_installed").order_by("id")
    assert [(a.object_id, a.organization_id, a.actor_id, a.actor_label) for a in audits] == [
        (str(theirs.pk), hillside.pk, None, "trellis model install"),
        (str(first.pk), riverside.pk, None, "trellis model install"),
        (str(second.pk), riverside.pk, cast["admin_avery"].pk, cast["admin_avery"].email),
    ]
    assert list(audits)[-1].details == {
        "kind": trained.model.kind,
        "enrollments": 700,
        "trained_on": "x" * 200,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskModel.objects.filter(pk=first.pk).update(active=True)


def test_an_installed_model_gives_the_same_risks_as_the_one_trained(
    riverside: Any, trained: Trained
) -> None:
    stored = scoring.install(riverside, trained.model, trained_on="t", actor=None, now=T0)
    x = learn.matrix(features.at_day(trained.cohort.events, trained.cohort.enrollments, 14))

    again = learn.Model.from_texts(stored.model_json, stored.trees)

    assert np.array_equal(again.risk(x), trained.model.risk(x))


# --- the demo ----------------------------------------------------------------------------


def test_the_demo_installs_its_model_once_for_each_clinic_and_scores_every_night(
    cast: Any,
) -> None:
    alex = enroll(cast, "patient_alex")

    alerts = demo_risk.seed_risk(cast, NIGHT)

    models = list(RiskModel.objects.order_by("organization__slug"))
    assert [(m.organization.slug, m.active) for m in models] == [
        ("hillside", True),
        ("riverside", True),
    ]
    for model in models:
        assert model.trained_on == demo_risk.TRAINED_ON
        assert model.card["data"]["enrollments"] == 2000
        assert model.card["source"] == {"simulated": demo_risk.COHORT}
    [tonight] = RiskScore.objects.filter(enrollment=alex)
    assert (tonight.method, tonight.model_id) == (RiskMethod.MODEL, models[1].pk)
    assert alerts == {"riverside": len(risk_alerts()), "hillside": 0}

    demo_risk.seed_risk(cast, NIGHT + timedelta(hours=1))

    assert list(RiskModel.objects.order_by("organization__slug")) == models
    assert list(RiskScore.objects.filter(enrollment=alex).values_list("scored_at", flat=True)) == [
        NIGHT + timedelta(hours=1)
    ]
