"""Everything Trellis holds about one patient, gathered for the patient themselves: their
details, programs and the steps they did, questionnaires with scores and bands, mood
check-ins, journal entries, messages, sessions, consents, alerts raised about them and
their amendment requests. Encrypted text comes out decrypted: it is the patient's own.

`gather(patient)` is the one read every view and download of the record uses. It reads a
fixed number of queries whatever the length of the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.accounts.models import Membership, Role, User
from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.appointments.models import Appointment
from trellis.care.models import CareTeamMember, Consent, Enrollment, Preferences
from trellis.care.queries import latest_enrollment, patient_zone
from trellis.core import timeutil
from trellis.interop.models import AmendmentRequest, AmendmentStatus
from trellis.interop.record.parts import PARTS, decide_by, part_label
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.programs.instruments import Instrument, UnknownInstrument, get_instrument, localized

# What each kind of alert means, told to the patient plainly and without alarm.
ALERT_WORDS: dict[str, Any] = {
    AlertKind.SAFETY: gettext_lazy(
        "One of your answers suggested you might be having thoughts of hurting yourself, so "
        "your care team was asked to check in with you."
    ),
    AlertKind.WALKTHROUGH: gettext_lazy(
        "Your care team was asked to offer you a walkthrough of Trellis."
    ),
    AlertKind.TRIAGE: gettext_lazy(
        "Your care team was asked to look at your first answers and confirm the support that "
        "suits you."
    ),
    AlertKind.DETERIORATION: gettext_lazy(
        "Your questionnaire scores went up (which can mean things got harder), so your care "
        "team was asked to look."
    ),
    AlertKind.INACTIVITY: gettext_lazy(
        "You had not used Trellis for a while, so your care team was asked to check in."
    ),
    AlertKind.MISSED_SESSION: gettext_lazy(
        "A session was missed, so your care team was asked to follow up."
    ),
    AlertKind.UNANSWERED_MESSAGE: gettext_lazy(
        "A message from you was waiting for a reply, so your care team was reminded."
    ),
    AlertKind.NO_IMPROVEMENT: gettext_lazy(
        "Your scores had not changed much for a while, so your care team was asked to see "
        "whether something else could help."
    ),
    AlertKind.STEP_CHANGE: gettext_lazy(
        "Your care team was asked to look at the level of your support."
    ),
    AlertKind.DROPOUT_RISK: gettext_lazy(
        "Trellis estimated you might stop using the program, so your care team was asked to "
        "check in."
    ),
}

ALERT_STATE_WORDS: dict[str, Any] = {
    AlertState.OPEN: gettext_lazy("Waiting for your care team"),
    AlertState.ACKNOWLEDGED: gettext_lazy("Your care team is looking at it"),
    AlertState.RESOLVED: gettext_lazy("Dealt with"),
    AlertState.DISMISSED: gettext_lazy("Closed by your care team"),
}


@dataclass(frozen=True)
class StepDone:
    title: str
    chapter: str
    kind: str
    completed_at: datetime | None
    rating: int | None
    response: Any


@dataclass(frozen=True)
class ProgramPart:
    enrollment_id: str
    clinic: str
    program: str
    version: int
    support_level: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    supporters: list[str]
    steps_done: list[StepDone]
    steps_started: int


@dataclass(frozen=True)
class AnswerLine:
    item: str
    question: str
    value: Any
    answer: str


@dataclass(frozen=True)
class Answered:
    response_id: str
    instrument: str
    title: str
    submitted_at: datetime
    total: int | None
    max_total: int | None
    band: str
    prorated: bool
    answers: list[AnswerLine]


@dataclass(frozen=True)
class MoodLine:
    at: datetime
    score: int
    note: str


@dataclass(frozen=True)
class JournalLine:
    at: datetime
    body: str
    shared: bool


@dataclass(frozen=True)
class MessageLine:
    at: datetime
    from_patient: bool
    sender: str
    body: str


@dataclass(frozen=True)
class SessionLine:
    starts_at: datetime
    ends_at: datetime
    mode: str
    status: str
    supporter: str
    cancel_reason: str


@dataclass(frozen=True)
class ConsentLine:
    title: str
    kind: str
    version: int
    agreed: bool
    answered_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class AlertLine:
    raised_at: datetime
    kind: str
    kind_label: str
    meaning: str
    state: str
    state_label: str
    reason: str


@dataclass(frozen=True)
class AmendmentLine:
    pk: str
    about: str
    about_label: str
    change: str
    status: str
    status_label: str
    requested_at: datetime
    decide_by: datetime
    decided_at: datetime | None
    decided_by: str
    reason: str

    @property
    def accepted(self) -> bool:
        return self.status == AmendmentStatus.ACCEPTED

    @property
    def refused(self) -> bool:
        return self.status == AmendmentStatus.REFUSED

    @property
    def pending(self) -> bool:
        return self.status == AmendmentStatus.PENDING


@dataclass
class PatientRecord:
    """One patient's whole record, as they are shown it and download it."""

    patient: User
    zone: ZoneInfo
    generated_at: datetime
    details: dict[str, Any]
    programs: list[ProgramPart] = field(default_factory=list)
    questionnaires: list[Answered] = field(default_factory=list)
    moods: list[MoodLine] = field(default_factory=list)
    journal: list[JournalLine] = field(default_factory=list)
    messages: list[MessageLine] = field(default_factory=list)
    sessions: list[SessionLine] = field(default_factory=list)
    consents: list[ConsentLine] = field(default_factory=list)
    alerts: list[AlertLine] = field(default_factory=list)
    amendments: list[AmendmentLine] = field(default_factory=list)

    def accepted_for(self, part: str) -> list[AmendmentLine]:
        """Accepted corrections of one part, oldest first: shown beside what they correct."""
        return [a for a in reversed(self.amendments) if a.accepted and a.about == part]

    @property
    def accepted_by_part(self) -> dict[str, list[AmendmentLine]]:
        return {key: self.accepted_for(key) for key in PARTS}

    @property
    def steps_done(self) -> int:
        return sum(len(p.steps_done) for p in self.programs)


def _instrument(code: str, cache: dict[str, Instrument | None]) -> Instrument | None:
    if code not in cache:
        try:
            cache[code] = localized(get_instrument(code))
        except UnknownInstrument:
            cache[code] = None
    return cache[code]


def _answer_lines(instrument: Instrument | None, answers: Any) -> list[AnswerLine]:
    if not isinstance(answers, dict):
        return []
    lines = []
    items = instrument.items if instrument is not None else ()
    order = [i.id for i in items if i.id in answers] + sorted(
        k for k in answers if k not in {i.id for i in items}
    )
    for item_id in order:
        value = answers[item_id]
        item = instrument.item(item_id) if instrument is not None else None
        label = ""
        if item is not None and instrument is not None:
            label = next((o.label for o in instrument.options_for(item) if o.value == value), "")
        lines.append(
            AnswerLine(
                item=str(item_id),
                question=item.text if item is not None else str(item_id),
                value=value,
                answer=label or str(value),
            )
        )
    return lines


def _zone_of(patient: User, enrollment: Enrollment | None) -> ZoneInfo:
    if enrollment is not None:
        return patient_zone(enrollment)
    own = Preferences.objects.filter(user_id=patient.pk).values_list("time_zone", flat=True).first()
    if own and timeutil.is_valid_zone(own):
        return timeutil.zone(own)
    return timeutil.UTC


def _details(patient: User, zone: ZoneInfo) -> dict[str, Any]:
    memberships = (
        Membership.objects.filter(user=patient, role=Role.PATIENT)
        .select_related("organization", "team")
        .order_by("created_at")
    )
    prefs = Preferences.objects.filter(user_id=patient.pk).first()
    return {
        "full_name": patient.full_name,
        "preferred_name": patient.preferred_name,
        "email": patient.email,
        "phone": patient.phone,
        "language": patient.language,
        "time_zone": str(zone),
        "joined_at": patient.created_at,
        "clinics": [
            {
                "clinic": m.organization.name,
                "team": m.team.name if m.team else "",
                "active": m.is_active,
                "since": m.created_at,
            }
            for m in memberships
        ],
        "preferences": (
            {
                "simple_mode": prefs.simple_mode,
                "time_zone": prefs.time_zone,
                "contact_style": prefs.get_contact_style_display() if prefs.contact_style else "",
                "reminder_channels": list(prefs.reminder_channels or []),
                "quiet_hours_start": prefs.quiet_hours_start,
                "quiet_hours_end": prefs.quiet_hours_end,
                "reminder_time": prefs.reminder_time,
                "weekly_summary": prefs.weekly_summary,
            }
            if prefs is not None
            else None
        ),
    }


def _programs(enrollments: list[Enrollment]) -> list[ProgramPart]:
    ids = [e.pk for e in enrollments]
    progress: dict[Any, list[StepProgress]] = {}
    for row in (
        StepProgress.objects.filter(enrollment_id__in=ids)
        .select_related("step", "step__chapter")
        .order_by("completed_at", "step__position")
    ):
        progress.setdefault(row.enrollment_id, []).append(row)
    team: dict[Any, list[str]] = {}
    for member in (
        CareTeamMember.objects.filter(enrollment_id__in=ids, active=True)
        .select_related("supporter")
        .order_by("role", "created_at")
    ):
        team.setdefault(member.enrollment_id, []).append(member.supporter.full_name)
    parts = []
    for enrollment in enrollments:
        rows = progress.get(enrollment.pk, [])
        done = [r for r in rows if r.status == ProgressStatus.COMPLETED]
        parts.append(
            ProgramPart(
                enrollment_id=str(enrollment.pk),
                clinic=enrollment.organization.name,
                program=enrollment.program_version.title,
                version=enrollment.program_version.number,
                support_level=enrollment.get_support_level_display(),
                status=enrollment.get_status_display(),
                started_at=enrollment.started_at,
                ended_at=enrollment.ended_at,
                supporters=team.get(enrollment.pk, []),
                steps_done=[
                    StepDone(
                        title=r.step.title,
                        chapter=r.step.chapter.title,
                        kind=r.step.get_kind_display(),
                        completed_at=r.completed_at,
                        rating=r.rating,
                        response=r.response,
                    )
                    for r in done
                ],
                steps_started=len(rows) - len(done),
            )
        )
    return parts


def _amendments(patient: User) -> list[AmendmentLine]:
    return [
        AmendmentLine(
            pk=str(a.pk),
            about=a.about,
            about_label=part_label(a.about),
            change=a.requested_change,
            status=a.status,
            status_label=a.get_status_display(),
            requested_at=a.created_at,
            decide_by=decide_by(a.created_at),
            decided_at=a.decided_at,
            decided_by=a.decided_by.full_name if a.decided_by else "",
            reason=a.reason,
        )
        for a in AmendmentRequest.objects.filter(patient=patient)
        .select_related("decided_by")
        .order_by("-created_at")
    ]


def amendments_of(patient: User) -> list[AmendmentLine]:
    """The patient's amendment requests, newest first, with their outcomes."""
    return _amendments(patient)


def gather(patient: User, *, now: datetime | None = None) -> PatientRecord:
    """The whole record of `patient` (the caller has made sure it is theirs to see)."""
    enrollments = list(
        Enrollment.objects.filter(patient=patient)
        .select_related("organization", "program_version")
        .order_by("started_at")
    )
    zone = _zone_of(patient, latest_enrollment(patient))
    ids = [e.pk for e in enrollments]
    cache: dict[str, Instrument | None] = {}
    questionnaires = []
    for response in QuestionnaireResponse.objects.filter(enrollment_id__in=ids).order_by(
        "submitted_at"
    ):
        instrument = _instrument(response.instrument, cache)
        questionnaires.append(
            Answered(
                response_id=str(response.pk),
                instrument=response.instrument,
                title=instrument.title if instrument else response.instrument,
                submitted_at=response.submitted_at,
                total=response.total,
                max_total=instrument.max_total if instrument else None,
                band=response.band,
                prorated=response.prorated,
                answers=_answer_lines(instrument, response.answers),
            )
        )
    moods = [
        MoodLine(at=m.created_at, score=m.score, note=m.note)
        for m in MoodCheckIn.objects.filter(enrollment_id__in=ids).order_by("created_at")
    ]
    journal = [
        JournalLine(at=j.created_at, body=j.body, shared=j.shared_with_care_team)
        for j in JournalEntry.objects.filter(enrollment_id__in=ids).order_by("created_at")
    ]
    messages = [
        MessageLine(
            at=m.sent_at,
            from_patient=m.from_patient,
            sender=_("You") if m.from_patient else m.sender.full_name,
            body=m.body,
        )
        for m in Message.objects.filter(thread__enrollment_id__in=ids)
        .select_related("sender")
        .order_by("sent_at")
    ]
    sessions = [
        SessionLine(
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            mode=a.get_mode_display(),
            status=a.get_status_display(),
            supporter=a.supporter.full_name,
            cancel_reason=a.cancel_reason,
        )
        for a in Appointment.objects.filter(enrollment_id__in=ids)
        .select_related("supporter")
        .order_by("starts_at")
    ]
    consents = [
        ConsentLine(
            title=c.document.title,
            kind=c.document.kind,
            version=c.document.version,
            agreed=c.agreed,
            answered_at=c.answered_at,
            withdrawn_at=c.withdrawn_at,
        )
        for c in Consent.objects.filter(user=patient)
        .select_related("document")
        .order_by("answered_at")
    ]
    alerts = [
        AlertLine(
            raised_at=a.raised_at,
            kind=a.kind,
            kind_label=a.get_kind_display(),
            meaning=str(ALERT_WORDS.get(a.kind, _("Your care team was asked to look."))),
            state=a.state,
            state_label=str(ALERT_STATE_WORDS.get(a.state, a.get_state_display())),
            reason=a.reason,
        )
        for a in Alert.objects.filter(enrollment_id__in=ids).order_by("raised_at")
    ]
    return PatientRecord(
        patient=patient,
        zone=zone,
        generated_at=now or timeutil.now(),
        details=_details(patient, zone),
        programs=_programs(enrollments),
        questionnaires=questionnaires,
        moods=moods,
        journal=journal,
        messages=messages,
        sessions=sessions,
        consents=consents,
        alerts=alerts,
        amendments=_amendments(patient),
    )
