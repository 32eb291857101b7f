"""Reading the audit trail: who may see which events, and the filters they can apply.

Clinic admins and supervisors see the events of their own clinic (events carry the
clinic's id); nobody else sees the trail through the web or the API. Operators read
the whole trail with `trellis audit report` on the server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from trellis.audit.models import AuditEvent
from trellis.audit.reads import LIST_READS
from trellis.core import timeutil

PAGE_SIZE = 50


class FilterError(ValueError):
    """A filter value that cannot be understood; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EventFilter:
    """What a reader asked for. Dates are calendar days in the clinic's time zone."""

    user: str = ""
    patient: uuid.UUID | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None  # keyset: only events older than this id

    def as_details(self) -> dict[str, str]:
        """The filter as plain strings, for the audit record of who looked at what."""
        values = {
            "user": self.user,
            "patient": str(self.patient) if self.patient else "",
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in values.items() if v}


def _parse_uuid(field: str, raw: str) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise FilterError(
            field, _("Enter a patient id such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427.")
        ) from None


def _parse_date(field: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(field, _("Enter a date as YYYY-MM-DD, for example 2026-03-31.")) from None
    if not timeutil.day_in_range(day):
        raise FilterError(field, str(timeutil.DAY_RANGE_MESSAGE))
    return day


def parse_filter(params: Any) -> tuple[EventFilter, list[FilterError]]:
    """Read the filter from query parameters; every bad value is reported, none guessed."""
    errors: list[FilterError] = []
    values: dict[str, Any] = {}

    def take(field: str, parse: Any) -> None:
        raw = str(params.get(field, "") or "").strip()
        try:
            values[field] = parse(field, raw)
        except FilterError as exc:
            errors.append(exc)

    take("user", lambda f, raw: raw[:254])
    take("patient", _parse_uuid)
    take("action", lambda f, raw: raw[:80])
    take("since", _parse_date)
    take("until", _parse_date)

    def parse_before(field: str, raw: str) -> int | None:
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise FilterError(field, _("The page link is not valid; start again from the newest."))
        return int(raw)

    take("before", parse_before)
    event_filter = EventFilter(**{k: v for k, v in values.items() if v not in (None, "")})
    if event_filter.since and event_filter.until and event_filter.since > event_filter.until:
        errors.append(FilterError("until", _("The end date must not be before the start date.")))
    return event_filter, errors


def _local_midnight(day: date, tz_name: str) -> datetime:
    return timeutil.at_local_time(day, time(0, 0), tz_name)


def about_patient(patient: uuid.UUID) -> Q:
    """Events about one patient: those naming them as the patient, and the reads of a list
    (a caseload, an alert inbox) that showed them among others."""
    in_list = (
        Q(details__patients__contains=[str(patient)])
        if connection.features.supports_json_field_contains
        else Q(details__patients__icontains=str(patient))  # SQLite: a search in the JSON text
    )
    return Q(patient_id=patient) | (Q(action__in=[str(a) for a in LIST_READS]) & in_list)


def apply_filter(
    events: QuerySet[AuditEvent], f: EventFilter, *, tz_name: str
) -> QuerySet[AuditEvent]:
    """Narrow events by the filter; a date range covers whole days in `tz_name`."""
    if f.user:
        try:
            events = events.filter(actor_id=uuid.UUID(f.user))
        except ValueError:
            events = events.filter(actor_label__iexact=f.user)
    if f.patient:
        events = events.filter(about_patient(f.patient))
    if f.action:
        events = events.filter(
            Q(action=f.action) | Q(action__startswith=f.action.rstrip(".") + ".")
        )
    if f.since:
        events = events.filter(occurred_at__gte=_local_midnight(f.since, tz_name))
    if f.until:
        events = events.filter(
            occurred_at__lt=_local_midnight(f.until + timedelta(days=1), tz_name)
        )
    return events


def page(events: QuerySet[AuditEvent], f: EventFilter) -> tuple[list[AuditEvent], int | None]:
    """One page of events, newest first, and the id to pass as `before` for the next page."""
    if f.before is not None:
        events = events.filter(id__lt=f.before)
    rows = list(events.order_by("-id")[: PAGE_SIZE + 1])
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        return rows, rows[-1].pk
    return rows, None


def events_about(
    *,
    patient: uuid.UUID | None = None,
    user: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Every event about one patient, or by or about one person, for operators' reports.

    Not scoped to a reader: only `trellis audit report` on the server calls this.
    """
    events = AuditEvent.objects.all()
    if patient is not None:
        events = events.filter(about_patient(patient))
    if user is not None:
        events = events.filter(
            Q(actor_id=user)
            | about_patient(user)
            | Q(object_type="accounts.user", object_id=str(user))
        )
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("id")
