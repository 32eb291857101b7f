"""The accounting of disclosures (HIPAA 45 CFR 164.528): every time the patient's data left
Trellis for another system, read back from the audit trail, where
`trellis.interop.disclosures.note_disclosure` writes one event per patient for every FHIR
read or search and every bulk export. The patient's own downloads of their record are
listed beside them (they are not disclosures, but they are the patient's to see too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.interop.disclosures import DISCLOSURES, FHIR_EXPORT, RECORD_EXPORT

PER_PAGE = 25

# What each FHIR resource type carries of the patient's record, in plain words.
TYPE_WORDS: dict[str, Promise] = {
    "Patient": gettext_lazy("your details"),
    "Practitioner": gettext_lazy("your care team's details"),
    "CareTeam": gettext_lazy("who is on your care team"),
    "CarePlan": gettext_lazy("your program and level of support"),
    "Questionnaire": gettext_lazy("the questionnaires"),
    "QuestionnaireResponse": gettext_lazy("your questionnaire answers"),
    "Observation": gettext_lazy("your questionnaire scores"),
    "Appointment": gettext_lazy("your sessions"),
    "Communication": gettext_lazy("your messages"),
}

FORMAT_WORDS: dict[str, Promise] = {
    "html": gettext_lazy("Readable summary (HTML)"),
    "json": gettext_lazy("Everything, for a computer (JSON)"),
    "fhir": gettext_lazy("For another health record (FHIR)"),
}


@dataclass(frozen=True)
class Disclosure:
    """One disclosure: when, to whom, what, and how it was asked for."""

    at: datetime
    recipient: str
    kind: str
    types: list[str]
    what: str
    query: str


@dataclass(frozen=True)
class Download:
    at: datetime
    format: str
    label: str


def _types(details: dict[str, Any]) -> list[str]:
    raw = details.get("types", details.get("type", []))
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [str(t) for t in raw if t]


def describe_types(types: list[str]) -> str:
    """The resource types in plain words ("your questionnaire scores (Observation)")."""
    if not types:
        return _("your record")
    return ", ".join(f"{TYPE_WORDS[t]} ({t})" if t in TYPE_WORDS else str(t) for t in types)


def _disclosure(event: AuditEvent) -> Disclosure:
    details = event.details if isinstance(event.details, dict) else {}
    types = _types(details)
    query = details.get("query", "")
    return Disclosure(
        at=event.occurred_at,
        recipient=str(details.get("client") or event.actor_label or _("A connected system")),
        kind=(_("Bulk export") if event.action == FHIR_EXPORT else _("Read or search")),
        types=types,
        what=describe_types(types),
        query=query if isinstance(query, str) else str(query),
    )


def disclosures_of(patient: User, *, page: Any = 1) -> Page[Disclosure]:
    """One page (newest first) of the patient's disclosures, as `Disclosure` rows (a page
    number that is not one gives the first page; one past the end, the last)."""
    events = AuditEvent.objects.filter(patient_id=patient.pk, action__in=DISCLOSURES).order_by(
        "-occurred_at", "-id"
    )
    found = Paginator(events, PER_PAGE).get_page(page)
    rows = [_disclosure(e) for e in found.object_list]
    return Page(rows, found.number, found.paginator)  # type: ignore[arg-type]


def downloads_of(patient: User, *, limit: int = 50) -> list[Download]:
    """The patient's own downloads of their record, newest first."""
    rows = []
    for event in AuditEvent.objects.filter(
        patient_id=patient.pk, actor_id=patient.pk, action=RECORD_EXPORT
    ).order_by("-occurred_at", "-id")[:limit]:
        fmt = str((event.details or {}).get("format", ""))
        rows.append(
            Download(at=event.occurred_at, format=fmt, label=str(FORMAT_WORDS.get(fmt, fmt)))
        )
    return rows
