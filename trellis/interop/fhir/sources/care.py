"""Enrollments as CarePlans, live sessions as Appointments, messages as Communications."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import F, Q, QuerySet

from trellis.appointments.models import Appointment
from trellis.care.models import Enrollment, SupportLevel
from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import care
from trellis.interop.fhir.search import DATE, REFERENCE, TOKEN, DateRange, Token
from trellis.interop.fhir.sources.base import (
    NOTHING,
    Context,
    Found,
    RowSource,
    status_q,
    uuids,
)
from trellis.messaging.models import Message


def _inverse(mapping: dict[Any, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for ours, theirs in mapping.items():
        found.setdefault(theirs, []).append(str(ours))
    return found


CAREPLAN_STATUSES = _inverse(care.CAREPLAN_STATUS)
APPOINTMENT_STATUSES = _inverse(care.APPOINTMENT_STATUS)


def _date(start: str, end: str | None = None) -> Callable[[Any], Q]:
    return lambda value: value.q(start, end) if isinstance(value, DateRange) else NOTHING


class CarePlanSource(RowSource):
    resource_type = "CarePlan"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "subject": REFERENCE,
        "status": TOKEN,
        "category": TOKEN,
        "date": DATE,
    }
    documentation = {
        "status": "active, completed (completed or discharged) or revoked (withdrawn).",
        "category": "A program (its slug in the programs code system), a level of support "
        "(support-levels), or assess-plan.",
        "date": "The plan's period: the enrollment's start to its end.",
    }
    patient_path = "patient_id"
    order = ("started_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        return (
            Enrollment.objects.filter(organization=ctx.organization)
            .select_related("program_version__program")
            .defer("end_reason", "suggestion_reason", "program_version__source")
        )

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        def category(token: Token) -> Q:
            system, code = token.system, token.code
            found = Q(pk__in=[])
            if system in (None, systems.PROGRAMS):
                found |= Q(program_version__program__slug=code)
            if system in (None, systems.SUPPORT_LEVELS) and code in SupportLevel.values:
                found |= Q(support_level=code)
            if system in (None, systems.CAREPLAN_CATEGORY) and code == "assess-plan":
                found = Q()
            return found

        return {
            "status": lambda token: status_q("status", CAREPLAN_STATUSES, token),
            "category": category,
            "date": _date("started_at", "ended_at"),
        }

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        return [Found(care.care_plan(e), frozenset({str(e.patient_id)})) for e in rows]


class AppointmentSource(RowSource):
    resource_type = "Appointment"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "practitioner": REFERENCE,
        "status": TOKEN,
        "date": DATE,
    }
    documentation = {
        "status": "booked, cancelled, fulfilled (attended) or noshow (missed).",
        "date": "The session's time, from its start to its end.",
        "practitioner": "The supporter: Practitioner/<id>.",
    }
    targets = {"practitioner": "Practitioner"}
    patient_path = "enrollment__patient_id"
    order = ("starts_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        return (
            Appointment.objects.filter(enrollment__organization=ctx.organization)
            .annotate(
                fhir_patient=F("enrollment__patient_id"),
                supporter_name=F("supporter__full_name"),
            )
            .defer("cancel_reason")
        )

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        return {
            "status": lambda token: status_q("status", APPOINTMENT_STATUSES, token),
            "date": _date("starts_at", "ends_at"),
            "practitioner": lambda ident: Q(supporter_id__in=uuids([ident])),
        }

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        return [
            Found(
                care.appointment(a, a.fhir_patient, a.supporter_name),
                frozenset({str(a.fhir_patient)}),
            )
            for a in rows
        ]


class CommunicationSource(RowSource):
    resource_type = "Communication"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "subject": REFERENCE,
        "status": TOKEN,
        "sent": DATE,
    }
    documentation = {
        "status": "completed: every message kept has been sent.",
        "sent": "When the message was sent.",
    }
    patient_path = "thread__enrollment__patient_id"
    order = ("sent_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        found = Message.objects.filter(thread__enrollment__organization=ctx.organization).annotate(
            fhir_patient=F("thread__enrollment__patient_id"),
            fhir_enrollment=F("thread__enrollment_id"),
        )
        # The words are decrypted only for a client allowed to read them.
        return found if ctx.include_message_text else found.defer("body")

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        return {
            "status": lambda token: Q() if token.code == "completed" else NOTHING,
            "sent": _date("sent_at"),
        }

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        return [
            Found(
                care.communication(
                    m, m.fhir_patient, m.fhir_enrollment, include_text=ctx.include_message_text
                ),
                frozenset({str(m.fhir_patient)}),
            )
            for m in rows
        ]
