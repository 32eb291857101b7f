"""The caseload: the patients a supporter looks after, the one who needs them most first.

Order of need: an open safety alert; then other open alerts, most severe first; then a
patient message waiting for a reply, the oldest first; then the patients not contacted for
longest. Every row says in words why it is where it is.

The supporter may sort by any column instead (`Sort`): patient, program, support level,
last activity, latest PHQ-9 or GAD-7, open alerts, waiting message or next session. Rows
without a value (no score yet, no session booked) go last whichever way the column is
sorted, and rows with the same value keep the order of need.

The whole list costs a fixed number of queries whatever its size: one for the person's
roles, one for the order of every row (the sorted column is one more correlated subquery
of it), one for the open alerts and one for the details of the rows on the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, NullIf
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from trellis.accounts.models import CLINICAL_ROLES, Membership, Role
from trellis.accounts.queries import active_memberships, is_signed_in
from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    Preferences,
    SupportLevel,
)
from trellis.engagement.models import EngagementEvent, EventType
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.programs.instruments import reliable_change
from trellis.programs.models import Chapter, ProgramVersion
from trellis.programs.translations import active_language

SCORED = ("PHQ-9", "GAD-7")
SEVERITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
NO_ALERT = 9


@dataclass(frozen=True, slots=True)
class EnrollmentRef:
    """The enrollment of a row, as plain values: building 2,000 model instances would cost
    more than the query itself."""

    pk: Any
    patient_id: Any
    organization_id: Any
    program_version_id: Any
    status: str
    support_level: str
    started_at: datetime

    @property
    def id(self) -> Any:
        return self.pk


@dataclass
class CaseloadRow:
    """One patient on the caseload, with why they are where they are."""

    enrollment: EnrollmentRef
    patient_name: str
    reasons: list[str]
    priority: tuple[Any, ...]
    last_activity: datetime | None
    last_contact: datetime
    waiting_since: datetime | None
    scores: dict[str, dict[str, Any]]
    chapter: str
    support_level: str
    support_level_label: str
    program: str
    open_alerts: dict[str, int] = field(default_factory=dict)
    next_session: datetime | None = None
    patient_zone: str = ""

    @property
    def open_alert_count(self) -> int:
        return sum(self.open_alerts.values())

    @property
    def score_cells(self) -> list[tuple[str, dict[str, Any] | None]]:
        """PHQ-9 and GAD-7 in that order, None where there is no score yet."""
        return [(code, self.scores.get(code)) for code in SCORED]

    @property
    def has_safety_alert(self) -> bool:
        return self.open_alerts.get("safety", 0) > 0


@dataclass(frozen=True)
class Column:
    """A column the caseload can be sorted by; `descending` is the first click's direction
    (the highest score, the most alerts first; the oldest activity or wait first)."""

    key: str
    label: Promise
    descending: bool = False


COLUMNS = (
    Column("patient", gettext_lazy("Patient")),
    Column("program", gettext_lazy("Program")),
    Column("support", gettext_lazy("Support")),
    Column("need", gettext_lazy("Why now")),
    Column("active", gettext_lazy("Last active")),
    Column("phq9", gettext_lazy("PHQ-9"), descending=True),
    Column("gad7", gettext_lazy("GAD-7"), descending=True),
    Column("alerts", gettext_lazy("Open alerts"), descending=True),
    Column("waiting", gettext_lazy("Waiting message")),
    Column("session", gettext_lazy("Next session")),
)
BY_KEY = {column.key: column for column in COLUMNS}


@dataclass(frozen=True)
class Sort:
    """How the caseload is ordered: by need (the default), or by one column either way.
    Written in the address as `?sort=phq9` or `?sort=-phq9` (descending)."""

    key: str = "need"
    descending: bool = False

    @classmethod
    def parse(cls, raw: Any) -> Sort:
        """Anything unknown sorts by need: a stale or mistyped link still shows the list."""
        text = str(raw or "")[:24]
        descending = text.startswith("-")
        key = text[1:] if descending else text
        if key not in BY_KEY or key == "need":
            return cls()
        return cls(key, descending)

    @property
    def param(self) -> str:
        return "" if self.key == "need" else ("-" if self.descending else "") + self.key

    def toggled(self, key: str) -> Sort:
        """Where a click on column `key`'s header leads: the other way round if the list is
        already sorted by it, else the column's own first direction."""
        if key == "need":
            return Sort()
        if key == self.key:
            return Sort(key, not self.descending)
        return Sort(key, BY_KEY[key].descending)


@dataclass(frozen=True)
class Filters:
    """What the supporter narrowed the list to; blank means everything."""

    program: str = ""  # program slug
    support_level: str = ""
    alert_kind: str = ""
    supporter: str = ""  # supervisors: one supporter's id

    @classmethod
    def from_mapping(cls, data: Any) -> Filters:
        return cls(
            program=str(data.get("program", "") or "")[:80],
            support_level=str(data.get("support_level", "") or "")[:24],
            alert_kind=str(data.get("alert_kind", "") or "")[:24],
            supporter=str(data.get("supporter", "") or "")[:40],
        )


def uses_caseload(user: Any) -> bool:
    """Coaches, therapists and supervisors have a caseload."""
    return is_signed_in(user) and active_memberships(user).filter(role__in=CLINICAL_ROLES).exists()


def caseload_enrollments(user: Any, filters: Filters | None = None) -> QuerySet[Enrollment]:
    """Active enrollments on the person's caseload: those they actively support, and for
    supervisors every active enrollment of their clinic (optionally one supporter's)."""
    filters = filters or Filters()
    if not is_signed_in(user):
        return Enrollment.objects.none()
    roles = list(active_memberships(user).values_list("role", "organization_id"))
    supervised = {org for role, org in roles if role == Role.SUPERVISOR}
    supporting = {org for role, org in roles if role in CLINICAL_ROLES}
    reach = Q(pk__in=[])
    if supporting:
        mine = CareTeamMember.objects.filter(supporter=user, active=True)
        reach |= Q(organization_id__in=supporting, pk__in=mine.values("enrollment_id"))
    if supervised:
        reach |= Q(organization_id__in=supervised)
    qs = Enrollment.objects.filter(reach, status=EnrollmentStatus.ACTIVE)
    if filters.supporter and supervised:
        team = CareTeamMember.objects.filter(supporter__pk=filters.supporter, active=True)
        qs = qs.filter(pk__in=team.values("enrollment_id"))
    if filters.program:
        qs = qs.filter(program_version__program__slug=filters.program)
    if filters.support_level:
        qs = qs.filter(support_level=filters.support_level)
    if filters.alert_kind:
        qs = qs.filter(
            Exists(
                Alert.objects.filter(
                    enrollment=OuterRef("pk"), state=AlertState.OPEN, kind=filters.alert_kind
                )
            )
        )
    return qs


def _contact_annotations() -> dict[str, Any]:
    """What ordering the caseload needs for every row: waiting messages and last contact."""

    last_reply = (
        Message.objects.filter(thread__enrollment=OuterRef("pk"), from_patient=False)
        .order_by()
        .values("thread")
        .annotate(m=Max("sent_at"))
        .values("m")
    )
    last_session = (
        Appointment.objects.filter(enrollment=OuterRef("pk"), status=AppointmentStatus.ATTENDED)
        .order_by()
        .values("enrollment")
        .annotate(m=Max("starts_at"))
        .values("m")
    )
    dt = DateTimeField()
    return {
        "waiting": F("thread__waiting_since"),
        "last_contact": Greatest(
            Coalesce(Subquery(last_reply, output_field=dt), F("started_at")),
            Coalesce(Subquery(last_session, output_field=dt), F("started_at")),
        ),
    }


def _latest_response(
    instrument: str, column: str, offset: int = 0, first: bool = False
) -> Subquery:
    order = "submitted_at" if first else "-submitted_at"
    return Subquery(
        QuestionnaireResponse.objects.filter(
            enrollment=OuterRef("pk"), instrument=instrument, total__isnull=False
        )
        .order_by(order)
        .values(column)[offset : offset + 1]
    )


def _last_event() -> Subquery:
    return Subquery(
        EngagementEvent.objects.filter(enrollment=OuterRef("pk"))
        .exclude(type=EventType.CARE_TEAM_MESSAGE)
        .order_by()
        .values("enrollment")
        .annotate(m=Max("occurred_at"))
        .values("m"),
        output_field=DateTimeField(),
    )


def _next_session(now: datetime) -> Subquery:
    return Subquery(
        Appointment.objects.filter(
            enrollment=OuterRef("pk"), status=AppointmentStatus.BOOKED, starts_at__gte=now
        )
        .order_by("starts_at")
        .values("starts_at")[:1],
        output_field=DateTimeField(),
    )


def _sort_annotation(key: str, now: datetime) -> dict[str, Any]:
    """The one extra column the order-of-every-row query needs for a sort (alerts and
    waiting messages are read for the order of need anyway)."""
    expressions: dict[str, Any] = {
        "patient": F("patient__full_name"),
        "program": F("program_version__title"),
        "support": F("support_level"),
        "active": _last_event(),
        "phq9": _latest_response("PHQ-9", "total"),
        "gad7": _latest_response("GAD-7", "total"),
        "session": _next_session(now),
    }
    return {"sort_value": expressions[key]} if key in expressions else {}


def _annotated(qs: QuerySet[Enrollment], now: datetime) -> Any:
    latest_response = _latest_response
    own_zone = Preferences.objects.filter(user_id=OuterRef("patient_id")).values("time_zone")[:1]
    chapter = (
        StepProgress.objects.filter(enrollment=OuterRef("pk"), status=ProgressStatus.COMPLETED)
        .order_by("-step__position")
        .values("step__chapter_id")[:1]
    )
    chapter_title = (
        StepProgress.objects.filter(enrollment=OuterRef("pk"), status=ProgressStatus.COMPLETED)
        .order_by("-step__position")
        .values("step__chapter__title")[:1]
    )
    supporter = (
        CareTeamMember.objects.filter(enrollment=OuterRef("pk"), active=True)
        .order_by("role", "created_at")
        .values("supporter__full_name")[:1]
    )
    return qs.annotate(
        patient_name=F("patient__full_name"),
        program_title=F("program_version__title"),
        last_activity=_last_event(),
        next_session=_next_session(now),
        patient_zone=Coalesce(NullIf(Subquery(own_zone), Value("")), F("organization__time_zone")),
        **_contact_annotations(),
        chapter_id=Subquery(chapter, output_field=UUIDField()),
        chapter_title=Subquery(chapter_title),
        primary_supporter=Subquery(supporter),
        phq9=latest_response("PHQ-9", "total"),
        phq9_band=latest_response("PHQ-9", "band"),
        phq9_first=latest_response("PHQ-9", "total", first=True),
        phq9_before=latest_response("PHQ-9", "total", offset=1),
        gad7=latest_response("GAD-7", "total"),
        gad7_band=latest_response("GAD-7", "band"),
        gad7_first=latest_response("GAD-7", "total", first=True),
        gad7_before=latest_response("GAD-7", "total", offset=1),
    ).values(
        "pk",
        "patient_id",
        "organization_id",
        "program_version_id",
        "status",
        "patient_name",
        "program_title",
        "support_level",
        "started_at",
        "waiting",
        "last_activity",
        "last_contact",
        "chapter_id",
        "chapter_title",
        "primary_supporter",
        "phq9",
        "phq9_band",
        "phq9_first",
        "gad7",
        "gad7_band",
        "gad7_first",
        "phq9_before",
        "gad7_before",
        "next_session",
        "patient_zone",
    )


def _change_in_words(latest: int, before: int | None) -> str:
    """The change since the questionnaire before, in words ("" for none or no change)."""
    if before is None or latest == before:
        return ""
    if latest > before:
        return _("up %(n)s") % {"n": latest - before}
    return _("down %(n)s") % {"n": before - latest}


def _days(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)


def _reasons(
    values: dict[str, Any], alerts: list[tuple[str, str, str]], now: datetime
) -> list[str]:
    reasons: list[str] = []
    if any(kind == "safety" for kind, _severity, _label in alerts):
        reasons.append(_("Safety alert open"))
    others = [label for kind, _severity, label in alerts if kind != "safety"]
    for label in dict.fromkeys(others):
        reasons.append(_("Alert open: %(kind)s") % {"kind": label})
    if values["waiting"] is not None:
        days = _days(values["waiting"], now)
        if days == 0:
            reasons.append(_("Message waiting since today"))
        else:
            reasons.append(
                ngettext("Message waiting %(n)s day", "Message waiting %(n)s days", days)
                % {"n": days}
            )
    for code, latest, first in (
        ("PHQ-9", values["phq9"], values["phq9_first"]),
        ("GAD-7", values["gad7"], values["gad7_first"]),
    ):
        # A rise of the instrument's reliable change or more (its file's figure).
        if latest is not None and first is not None and latest - first >= reliable_change(code):
            reasons.append(_("%(code)s up %(n)s points") % {"code": code, "n": latest - first})
    active = values["last_activity"]
    if active is None:
        days = _days(values["started_at"], now)
        reasons.append(
            ngettext(
                "No activity since starting %(n)s day ago",
                "No activity since starting %(n)s days ago",
                days,
            )
            % {"n": days}
        )
    elif _days(active, now) >= 2:
        days = _days(active, now)
        reasons.append(
            ngettext("No activity for %(n)s day", "No activity for %(n)s days", days) % {"n": days}
        )
    days = _days(values["last_contact"], now)
    reasons.append(
        ngettext("Last contact %(n)s day ago", "Last contact %(n)s days ago", days) % {"n": days}
        if days
        else _("Contacted today")
    )
    return reasons


def caseload(
    user: Any,
    *,
    now: datetime,
    filters: Filters | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort: Sort | None = None,
) -> list[CaseloadRow]:
    """The person's caseload, the patient who needs them most first (four queries; two
    more for the titles of programs and chapters when the reader's language is not English).

    Ordering needs only alerts, waiting messages and last contact, so those are read for
    every enrollment; everything shown on a row is read only for the rows in
    `offset:offset + limit` (the page), which keeps a caseload of thousands quick.
    """
    return caseload_page(user, now=now, filters=filters, offset=offset, limit=limit, sort=sort)[0]


def caseload_page(
    user: Any,
    *,
    now: datetime,
    filters: Filters | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort: Sort | None = None,
) -> tuple[list[CaseloadRow], int]:
    """One page of the caseload in order of need (or `sort`), and how many rows the whole
    caseload has."""

    sort = sort or Sort()
    enrollments = caseload_enrollments(user, filters)
    by_column = _sort_annotation(sort.key, now)
    ordering_fields = ("pk", "waiting", "last_contact", *by_column)
    keys: list[dict[str, Any]] = list(
        enrollments.annotate(**_contact_annotations(), **by_column).values(*ordering_fields)
    )
    by_enrollment: dict[Any, list[tuple[str, str, str]]] = defaultdict(list)
    kind_labels = dict(AlertKind.choices)
    for enrollment_id, kind, severity in (
        Alert.objects.filter(enrollment_id__in=enrollments.values("pk"), state=AlertState.OPEN)
        .order_by("raised_at")
        .values_list("enrollment_id", "kind", "severity")
    ):
        by_enrollment[enrollment_id].append((kind, severity, str(kind_labels.get(kind, kind))))

    def priority(key: dict[str, Any]) -> tuple[Any, ...]:
        alerts = by_enrollment.get(key["pk"], [])
        safety = any(kind == "safety" for kind, _s, _l in alerts)
        worst = min(
            (SEVERITY_RANK.get(sev, 3) for kind, sev, _l in alerts if kind != "safety"),
            default=NO_ALERT,
        )
        waiting = key["waiting"]
        return (
            0 if safety else 1,
            worst,
            0 if waiting is not None else 1,
            waiting or now,
            key["last_contact"],
            str(key["pk"]),
        )

    ordered = sorted(keys, key=priority)
    if sort.key != "need":
        ordered = _by_column(ordered, sort, by_enrollment)
    chosen = ordered[offset : None if limit is None else offset + limit]
    details = {
        values["pk"]: values
        for values in _annotated(
            Enrollment.objects.filter(pk__in=[key["pk"] for key in chosen]), now
        )
    }
    levels = dict(Enrollment._meta.get_field("support_level").choices or [])
    program_titles, chapter_titles = _titles(details.values())
    out: list[CaseloadRow] = []
    for key in chosen:
        values = details.get(key["pk"])
        if values is None:  # ended between the two reads
            continue
        alerts = by_enrollment.get(values["pk"], [])
        counts: dict[str, int] = defaultdict(int)
        for kind, _s, _l in alerts:
            counts[kind] += 1
        scores = {
            code: {
                "total": values[col],
                "band": values[f"{col}_band"],
                "change": _change_in_words(values[col], values[f"{col}_before"]),
            }
            for code, col in (("PHQ-9", "phq9"), ("GAD-7", "gad7"))
            if values[col] is not None
        }
        enrollment = EnrollmentRef(
            pk=values["pk"],
            patient_id=values["patient_id"],
            organization_id=values["organization_id"],
            program_version_id=values["program_version_id"],
            status=values["status"],
            support_level=values["support_level"],
            started_at=values["started_at"],
        )
        out.append(
            CaseloadRow(
                enrollment=enrollment,
                patient_name=values["patient_name"],
                reasons=_reasons(values, alerts, now),
                priority=priority(key),
                last_activity=values["last_activity"],
                last_contact=values["last_contact"],
                waiting_since=values["waiting"],
                scores=scores,
                chapter=chapter_titles.get(values["chapter_id"], values["chapter_title"])
                or _("Not started yet"),
                support_level=values["support_level"],
                support_level_label=str(levels.get(values["support_level"], "")),
                program=program_titles.get(values["program_version_id"], values["program_title"]),
                open_alerts=dict(counts),
                next_session=values["next_session"],
                patient_zone=values["patient_zone"] or "",
            )
        )
    return out, len(keys)


def _titles(rows: Any) -> tuple[dict[Any, str], dict[Any, str]]:
    """The titles of the rows' programs and chapters in the reader's language, as the record
    shows them (a published version or chapter is translated as it is loaded). In English
    the titles read with the rows are the right ones, so nothing more is read."""
    if not active_language():
        return {}, {}
    rows = list(rows)
    versions = ProgramVersion.objects.filter(
        pk__in={row["program_version_id"] for row in rows}
    ).only("pk", "title", "source")
    chapters = Chapter.objects.filter(
        pk__in={row["chapter_id"] for row in rows if row["chapter_id"] is not None}
    ).only("pk", "key", "title", "version_id")
    return (
        {version.pk: version.title for version in versions},
        {chapter.pk: chapter.title for chapter in chapters},
    )


LEVEL_ORDER = {level: n for n, level in enumerate(SupportLevel.values)}


def _by_column(
    ordered: list[dict[str, Any]],
    sort: Sort,
    alerts: dict[Any, list[tuple[str, str, str]]],
) -> list[dict[str, Any]]:
    """`ordered` (in order of need) sorted by one column; rows without a value go last and
    rows with the same value keep their order of need (Python's sort is stable both ways)."""

    def value(key: dict[str, Any]) -> Any:
        if sort.key == "alerts":
            kinds = [kind for kind, _s, _l in alerts.get(key["pk"], [])]
            return ("safety" in kinds, len(kinds))
        if sort.key == "waiting":
            return key["waiting"]
        raw = key.get("sort_value")
        if sort.key == "support":
            return LEVEL_ORDER.get(str(raw), len(LEVEL_ORDER))
        return raw.casefold() if isinstance(raw, str) else raw

    present = [key for key in ordered if value(key) is not None]
    missing = [key for key in ordered if value(key) is None]
    present.sort(key=value, reverse=sort.descending)
    return present + missing


def supporters_in(user: Any) -> list[tuple[str, str]]:
    """(id, name) of the clinical staff of the clinics a supervisor supervises, for the filter."""

    supervised = active_memberships(user).filter(role=Role.SUPERVISOR).values("organization_id")
    return [
        (str(pk), name)
        for pk, name in Membership.objects.filter(
            organization_id__in=supervised, role__in=CLINICAL_ROLES, is_active=True
        )
        .order_by("user__full_name")
        .values_list("user_id", "user__full_name")
        .distinct()
    ]


__all__ = [
    "COLUMNS",
    "CaseloadRow",
    "Filters",
    "Sort",
    "caseload",
    "caseload_enrollments",
    "supporters_in",
]
