"""The patient's record as files they take away: a readable HTML summary (one standalone
page with its own styles, to read offline or print), Trellis's own JSON of everything
(documented in docs/patient-record.md), and a FHIR R4 Bundle from the FHIR mapping.

`download_record` is the one action: it gathers the record, writes the file and the audit
row (`record.export`, with the format) in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from trellis.accounts.models import User
from trellis.audit import services as audit
from trellis.core import timeutil
from trellis.interop.disclosures import RECORD_EXPORT
from trellis.interop.fhir.export import patient_everything
from trellis.interop.record import parts
from trellis.interop.record.gather import PatientRecord, gather

FORMATS = ("html", "json", "fhir")
JSON_FORMAT = "trellis.patient-record"
JSON_VERSION = 1


@dataclass(frozen=True)
class RecordFile:
    filename: str
    content_type: str
    body: bytes


def _when(value: Any) -> Any:
    """Datetimes as ISO 8601 in UTC, times of day as HH:MM, dates as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.astimezone(timeutil.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    """Any gathered value as JSON: dicts and lists walked, moments written as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | time):
        return _when(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def as_json(record: PatientRecord) -> dict[str, Any]:
    """Trellis's plain JSON of the whole record (the format is documented, versioned)."""
    patient = record.patient
    return _plain(
        {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "generated_at": record.generated_at,
            "time_zone": str(record.zone),
            "patient": {"id": str(patient.pk), **record.details},
            "programs": [
                {
                    "enrollment_id": p.enrollment_id,
                    "clinic": p.clinic,
                    "program": p.program,
                    "version": p.version,
                    "support_level": p.support_level,
                    "status": p.status,
                    "started_at": p.started_at,
                    "ended_at": p.ended_at,
                    "supporters": p.supporters,
                    "steps_started_not_done": p.steps_started,
                    "steps_done": [
                        {
                            "title": s.title,
                            "chapter": s.chapter,
                            "kind": s.kind,
                            "completed_at": s.completed_at,
                            "rating": s.rating,
                            "what_you_entered": s.response,
                        }
                        for s in p.steps_done
                    ],
                }
                for p in record.programs
            ],
            "questionnaires": [
                {
                    "id": q.response_id,
                    "instrument": q.instrument,
                    "title": q.title,
                    "submitted_at": q.submitted_at,
                    "total": q.total,
                    "max_total": q.max_total,
                    "band": q.band,
                    "prorated": q.prorated,
                    "answers": [
                        {
                            "item": a.item,
                            "question": a.question,
                            "value": a.value,
                            "answer": a.answer,
                        }
                        for a in q.answers
                    ],
                }
                for q in record.questionnaires
            ],
            "mood_check_ins": [
                {"at": m.at, "score": m.score, "scale": "1-10", "note": m.note}
                for m in record.moods
            ],
            "journal_entries": [
                {"at": j.at, "text": j.body, "shared_with_care_team": j.shared}
                for j in record.journal
            ],
            "messages": [
                {"sent_at": m.at, "from_you": m.from_patient, "sender": m.sender, "text": m.body}
                for m in record.messages
            ],
            "sessions": [
                {
                    "starts_at": s.starts_at,
                    "ends_at": s.ends_at,
                    "mode": s.mode,
                    "status": s.status,
                    "with": s.supporter,
                    "cancel_reason": s.cancel_reason,
                }
                for s in record.sessions
            ],
            "consents": [
                {
                    "title": c.title,
                    "kind": c.kind,
                    "version": c.version,
                    "agreed": c.agreed,
                    "answered_at": c.answered_at,
                    "withdrawn_at": c.withdrawn_at,
                }
                for c in record.consents
            ],
            "alerts": [
                {
                    "raised_at": a.raised_at,
                    "kind": a.kind,
                    "what_it_means": a.meaning,
                    "state": a.state,
                    "reason_for_care_team": a.reason,
                }
                for a in record.alerts
            ],
            "amendments": [
                {
                    "id": a.pk,
                    "about": a.about,
                    "requested_change": a.change,
                    "status": a.status,
                    "requested_at": a.requested_at,
                    "decide_by": a.decide_by,
                    "decided_at": a.decided_at,
                    "decided_by": a.decided_by,
                    "reason": a.reason,
                }
                for a in record.amendments
            ],
        }
    )


def as_html(record: PatientRecord) -> str:
    """The standalone, printable summary, in the patient's zone and the active language."""
    with timezone.override(record.zone):
        return render_to_string(
            "interop/record/summary.html",
            {"record": record, "parts": {k: str(v) for k, v in parts.PARTS.items()}},
        )


def fhir_bundle(patient: User) -> dict[str, Any]:
    """The FHIR R4 Bundle of everything about the patient (the FHIR mapping's own)."""
    return patient_everything(patient)


def _filename(record: PatientRecord, ext: str) -> str:
    day = timeutil.local_date(record.generated_at, str(record.zone)).isoformat()
    return f"trellis-record-{day}.{ext}"


@transaction.atomic
def download_record(*, patient: User, fmt: str, now: datetime) -> RecordFile:
    """The patient downloads their record in `fmt` (html, json or fhir); audited."""
    if fmt not in FORMATS:
        raise ValueError(f"a record is downloaded as one of {FORMATS}, not {fmt!r}")
    record = gather(patient, now=now)
    if fmt == "html":
        file = RecordFile(
            _filename(record, "html"), "text/html; charset=utf-8", as_html(record).encode()
        )
    elif fmt == "json":
        body = json.dumps(as_json(record), ensure_ascii=False, indent=2)
        file = RecordFile(_filename(record, "json"), "application/json", body.encode())
    else:
        body = json.dumps(fhir_bundle(patient), ensure_ascii=False, indent=2)
        file = RecordFile(_filename(record, "fhir.json"), "application/fhir+json", body.encode())
    audit.record(
        action=RECORD_EXPORT,
        actor=patient,
        patient=patient,
        subject=patient,
        details={"format": fmt},
        at=now,
    )
    return file
