"""A simulated clinic in the database, made through Trellis's own services.

`populate` draws a cohort from the generative model (`risk.simulate`, documented in
docs/insights-simulation.md) whose enrollments started over the last `weeks` weeks, and
plays each simulated patient's days through the same services the pages call: enrolling
(onboarding), agreeing to the consents, signing in, opening, starting and finishing the
program's next steps with a plausible answer and rating them (journey), mood check-ins and
journal entries, messages to the care team and the supporter's replies (messaging),
PHQ-9 and GAD-7 when they are due, with their item-9 answers and the whole safety pathway
(measures), live sessions booked and attended where the supporter has an open time
(appointments), and reminders delivered in Trellis and opened (nudges). Nothing is
written around the services, so every row, event and audit entry is the one a real
patient would leave.

What the model says and what Trellis could play differ where Trellis refuses: a step
still locked, a questionnaire not due, no open time for a session. Those are counted, not
forced. The ground truth (class, daily hazard) is written beside the enrollments as
`truth.parquet` when a folder is given, keyed by enrollment id.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError

from trellis.accounts.models import Membership, Organization, Role, User
from trellis.accounts.services import create_person
from trellis.appointments import queries as appointment_queries
from trellis.appointments import services as appointments
from trellis.appointments.models import WeeklySlot
from trellis.care import consent as care_consent
from trellis.care.models import Enrollment, SupportLevel
from trellis.insights.risk import simulate
from trellis.journey import services as journey
from trellis.journey.queries import today
from trellis.journey.samples import sample_response
from trellis.measures import services as measures
from trellis.messaging import services as messaging
from trellis.nudges import dispatch
from trellis.nudges import services as nudges
from trellis.nudges.models import Channel, DeliveryStatus
from trellis.onboarding.services import (
    enroll_patient,
    mark_done,
    record_consents,
    start_onboarding,
    submit_eheals,
)
from trellis.programs.models import ProgramVersion, StepKind

NAMESPACE = uuid.UUID("5b1f4e2a-8d37-4c51-9e0f-2a6d7c3b9e14")
FIRST_NAMES = [
    "Aino", "Ben", "Carmen", "Dev", "Elif", "Finn", "Grace", "Hugo", "Ines", "Jonas",
    "Kaisa", "Leo", "Maya", "Noor", "Oskar", "Pia", "Quinn", "Rosa", "Sami", "Tara",
]  # fmt: skip
LAST_NAMES = [
    "Virtanen", "Garcia", "Okafor", "Lindqvist", "Moreau", "Novak", "Rahman", "Silva",
    "Tanaka", "Walsh",
]  # fmt: skip
PATIENT_MESSAGES = [
    "I did the breathing exercise this morning. It helped a bit.",
    "This week has been hard, I could not find the time.",
    "Is it normal to feel more tired after the exercises?",
    "Thank you for your message, it helped.",
]
REPLIES = [
    "Thank you for letting me know. Small steps count: well done for keeping going.",
    "That sounds like a hard week. Would a shorter exercise fit better for now?",
    "Good question. Many people feel that at first; it usually eases within a week or two.",
]
JOURNAL = [
    "Felt tense before work but the walk at lunch helped.",
    "Slept badly, but I kept to my plan for the morning.",
    "Talked to a friend tonight. I was glad I did.",
]
SUPPORT_LEVELS = {
    "self_guided": SupportLevel.SELF_GUIDED,
    "coached": SupportLevel.COACHED,
    "therapist_assisted": SupportLevel.THERAPIST_ASSISTED,
}


def supporters_at(organization: Organization) -> dict[str, list[User]]:
    """The clinic's coaches and therapists, by the level of support they give."""
    found: dict[str, list[User]] = {"coached": [], "therapist_assisted": []}
    for membership in (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("user__email")
    ):
        if membership.role == Role.COACH:
            found["coached"].append(membership.user)
        elif membership.role == Role.THERAPIST:
            found["therapist_assisted"].append(membership.user)
    if not found["coached"]:
        found["coached"] = list(found["therapist_assisted"])
    return found


@dataclass
class Populated:
    enrollments: list[Enrollment] = field(default_factory=list)
    played: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    truth: Path | None = None


def _key(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def _answers(
    total: int, items: int, *, low: int = 0, high: int = 3, last: int | None = None
) -> dict[str, int]:
    """Answers `q1`..`qN` (each `low` to `high`) adding up to `total` as closely as the
    range allows, spread evenly; `last` fixes the last item (PHQ-9's item 9)."""
    free = items - (1 if last is not None else 0)
    remaining = total - (last or 0) - low * free
    values = [low] * free
    for index in range(free):
        left = free - index
        step = min(high - low, max(remaining, 0) // left + (1 if remaining % left else 0))
        values[index] += step
        remaining -= step
    if last is not None:
        values.append(last)
    return {f"q{n + 1}": v for n, v in enumerate(values)}


def populate(
    organization: Organization,
    version: ProgramVersion,
    supporters: dict[str, list[User]],
    *,
    patients: int,
    weeks: int,
    seed: int,
    now: datetime,
    out: Path | None = None,
) -> Populated:
    """`patients` simulated patients of `organization` in `version`'s program, started over
    the last `weeks` weeks; `supporters` by support level (coached, therapist_assisted)."""
    days = weeks * 7
    first = now - timedelta(days=days)
    cohort = simulate.simulate(
        patients, weeks, seed=seed, first_start=first, start_spread_days=max(days - 7, 1)
    )
    done = Populated()
    _open_session_times(organization, supporters.get("therapist_assisted", []), first)
    by_sim: dict[str, Enrollment] = {}
    for n, row in enumerate(cohort.enrollments.iter_rows(named=True)):
        started: datetime = row["started_at"]
        level = SUPPORT_LEVELS[row["support_level"]]
        team = supporters.get(row["support_level"]) or supporters.get("coached") or []
        care_team = [team[n % len(team)]] if team and level != SupportLevel.SELF_GUIDED else []
        first_name = FIRST_NAMES[n % len(FIRST_NAMES)]
        last_name = LAST_NAMES[(n // len(FIRST_NAMES) + seed) % len(LAST_NAMES)]
        email = f"sim-{seed}-{n:04d}@patients.example"
        patient = User.objects.filter(email=email).first()
        if patient is not None:
            continue  # already simulated: running again adds nobody twice
        patient = create_person(
            organization=organization,
            email=email,
            full_name=f"{first_name} {last_name}",
            role=Role.PATIENT,
            actor=None,
        ).user
        enrollment = enroll_patient(
            patient=patient,
            program_version=version,
            support_level=level,
            supporters=care_team,
            actor=care_team[0] if care_team else None,
            now=started,
            organization=organization,
        )
        # Getting started as a patient goes through it: the consents (research declined
        # by most), eHEALS, then straight on to the program (the baseline questionnaires
        # come on day 0 with the rest of the simulated day).
        start_onboarding(enrollment, actor=patient, now=started)
        record_consents(
            enrollment,
            actor=patient,
            answers={
                document.kind: document.required or n % 4 == 0
                for document in care_consent.current_documents(organization, organization.locale)
            },
            now=started,
        )
        submit_eheals(
            enrollment,
            actor=patient,
            answers=_answers(int(row["ehealth_literacy"]), 8, low=1, high=5),
            client_id=_key(email, "eheals"),
            now=started,
        )
        mark_done(enrollment, actor=None, now=started)
        by_sim[row["enrollment_id"]] = enrollment
        done.enrollments.append(enrollment)
    events = cohort.events.filter(
        pl.col("enrollment_id").is_in(list(by_sim)) & (pl.col("occurred_at") < now)
    )
    player = _Player(done, now)
    for (sim_id,), rows in events.group_by(["enrollment_id"], maintain_order=True):
        player.play(by_sim[str(sim_id)], rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        mapping = pl.DataFrame(
            {"enrollment_id": list(by_sim), "trellis_id": [str(e.pk) for e in by_sim.values()]}
        )
        truth = cohort.truth.join(mapping, on="enrollment_id").drop("enrollment_id")
        done.truth = out / "truth.parquet"
        truth.rename({"trellis_id": "enrollment_id"}).write_parquet(done.truth)
    return done


SESSION_WEEKDAY, SESSION_FROM, SESSION_UNTIL = 3, time(15, 0), time(17, 0)


def _open_session_times(
    organization: Organization, therapists: list[User], first: datetime
) -> None:
    """Each therapist of the simulated patients holds a weekly session time (Thursdays
    15:00-17:00, the clinic's time) from the first simulated day, unless they already do."""
    for therapist in therapists:
        if WeeklySlot.objects.filter(
            supporter=therapist, weekday=SESSION_WEEKDAY, start_time=SESSION_FROM
        ).exists():
            continue
        appointments.add_weekly_slot(
            therapist,
            actor=therapist,
            organization=organization,
            weekday=SESSION_WEEKDAY,
            start_time=SESSION_FROM,
            end_time=SESSION_UNTIL,
            session_minutes=30,
            time_zone=organization.time_zone,
            valid_from=first.date(),
            now=first,
        )


class _Player:
    """Plays one patient's simulated events through the services, in order."""

    def __init__(self, done: Populated, now: datetime) -> None:
        self.done, self.now = done, now

    def play(self, enrollment: Enrollment, rows: pl.DataFrame) -> None:
        patient = enrollment.patient
        events = rows.to_dicts()
        for index, event in enumerate(events):
            kind, at = event["type"], event["occurred_at"]
            key = (enrollment.pk, index)
            try:
                handled = self._one(enrollment, patient, kind, at, event, events, index, key)
            except (
                ValidationError,
                PermissionDenied,
                journey.StepLocked,
                measures.ResponseInvalid,
            ):
                self.done.refused[kind] += 1
                continue
            if handled:
                self.done.played[kind] += 1

    def _one(
        self,
        enrollment: Enrollment,
        patient: User,
        kind: str,
        at: datetime,
        event: dict[str, Any],
        events: list[dict[str, Any]],
        index: int,
        key: tuple[Any, int],
    ) -> bool:
        if kind == "login":
            journey.record_login(patient, now=at)
        elif kind == "step_started":
            state = today(enrollment, at).next_step
            if state is None or state.step.kind == StepKind.QUESTIONNAIRE:
                return False
            journey.view_step(enrollment, state.step, actor=patient, now=at)
            journey.start_step(enrollment, state.step, actor=patient, now=at)
        elif kind == "step_completed":
            state = today(enrollment, at).next_step
            if state is None or state.step.kind == StepKind.QUESTIONNAIRE:
                return False
            journey.complete_step(
                enrollment,
                state.step,
                actor=patient,
                client_id=_key(*key, "complete"),
                response=sample_response(state.step, at),
                duration_s=int(event["duration_s"] or 300),
                now=at,
            )
            rating = next(
                (
                    e
                    for e in events[index + 1 : index + 3]
                    if e["type"] == "exercise_rated" and e["occurred_at"] > at
                ),
                None,
            )
            if rating is not None:
                journey.rate_step(
                    enrollment,
                    state.step,
                    actor=patient,
                    rating=int(rating["value"]),
                    client_id=_key(*key, "rate"),
                    now=rating["occurred_at"],
                )
                self.done.played["exercise_rated"] += 1
        elif kind == "mood_checkin":
            journey.check_in_mood(
                enrollment,
                actor=patient,
                score=int(event["value"]),
                note="",
                client_id=_key(*key, "mood"),
                now=at,
            )
        elif kind == "journal_entry":
            journey.add_journal_entry(
                enrollment,
                actor=patient,
                body=JOURNAL[index % len(JOURNAL)],
                shared=index % 3 == 0,
                client_id=_key(*key, "journal"),
                now=at,
            )
        elif kind == "message_sent":
            messaging.send_message(
                enrollment,
                sender=patient,
                body=PATIENT_MESSAGES[index % len(PATIENT_MESSAGES)],
                client_id=_key(*key, "message"),
                now=at,
            )
        elif kind == "care_team_message":
            team = list(enrollment.care_team.filter(active=True).select_related("supporter"))
            if not team:
                return False
            messaging.send_message(
                enrollment,
                sender=team[0].supporter,
                body=REPLIES[index % len(REPLIES)],
                client_id=_key(*key, "care team"),
                now=at,
            )
        elif kind == "questionnaire_submitted":
            instrument, _sep, total = str(event["value"]).partition(":")
            safety = any(
                e["type"] == "safety_event" and abs((e["occurred_at"] - at).total_seconds()) < 5
                for e in events[index + 1 : index + 3]
            )
            items = 9 if instrument == "PHQ-9" else 7
            measures.submit_response(
                enrollment,
                instrument,
                actor=patient,
                answers=_answers(
                    int(total or 0), items, last=(1 if safety else 0) if items == 9 else None
                ),
                client_id=_key(*key, "questionnaire"),
                now=at,
            )
        elif kind == "appointment_attended":
            return self._session(enrollment, at, key)
        elif kind == "reminder_sent":
            if not self._reminder(enrollment, patient, at, events, index, key):
                # Held back by the clinic's limits (a day's or a week's cap, quiet hours).
                self.done.refused["reminder_sent"] += 1
                return False
        else:
            return False  # opened with its reminder; safety with its questionnaire
        return True

    def _session(self, enrollment: Enrollment, at: datetime, key: Any) -> bool:
        """A live session around `at` with the care team, when one has an open time."""
        booked_at = at - timedelta(days=3)
        times = appointment_queries.open_times_for(
            enrollment, start=at - timedelta(days=1), end=at + timedelta(days=6), now=booked_at
        )
        if not times or times[0].starts_at >= self.now:
            self.done.refused["appointment_attended"] += 1
            return False
        chosen = times[0]
        appointment = appointments.book(
            enrollment,
            supporter=chosen.supporter,
            starts_at=chosen.starts_at,
            mode=chosen.modes[0],
            actor=chosen.supporter,
            client_id=_key(*key, "session"),
            now=booked_at,
        )
        appointments.record_attendance(
            appointment,
            attended=True,
            actor=chosen.supporter,
            minutes=30,
            now=chosen.ends_at,
        )
        return True

    def _reminder(
        self,
        enrollment: Enrollment,
        patient: User,
        at: datetime,
        events: list[dict[str, Any]],
        index: int,
        key: Any,
    ) -> bool:
        """Today's-step reminder, in Trellis, opened when the model says so; whether it was
        sent."""
        rows = nudges.queue_nudge(
            recipient=patient,
            organization=enrollment.organization,
            template="exercise_today",
            context={},
            key=f"sim:{key[0]}:{key[1]}",
            enrollment=enrollment,
            channels=[Channel.IN_APP],
            not_before=at,
        )
        delivered = False
        for row in rows:
            if row.status != DeliveryStatus.QUEUED:
                continue
            sent = dispatch.deliver(row.pk, now=at)
            waited = sent.next_attempt_at
            if sent.status == DeliveryStatus.QUEUED and waited is not None and waited < self.now:
                # It came due in the patient's quiet hours: it goes when they end, as the
                # worker would send it.
                sent = dispatch.deliver(row.pk, now=waited)
            delivered = delivered or sent.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
            opened = next(
                (
                    e
                    for e in events[index + 1 : index + 40]
                    if e["type"] == "reminder_opened"
                    and e["occurred_at"] - at < timedelta(hours=20)
                ),
                None,
            )
            if opened is not None and sent.status in (
                DeliveryStatus.SENT,
                DeliveryStatus.DELIVERED,
            ):
                at_the_earliest = (sent.sent_at or at) + timedelta(minutes=5)
                nudges.mark_opened(sent, at=max(opened["occurred_at"], at_the_earliest))
                self.done.played["reminder_opened"] += 1
        return delivered
