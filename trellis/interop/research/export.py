"""The research export as an action: read the clinic's data of the patients who agreed to
research, de-identify it (trellis.interop.research.deidentify) and record who exported it.

Only patients whose latest answer on the research consent is a yes still in force are
included, and only their enrollments at this clinic. The audit row names who exported, the
format, how many patients and rows, and k; never an id of a patient.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.care.consent import latest_consents_of
from trellis.care.models import ConsentKind, Enrollment
from trellis.core.dbrouter import reading_from_replica
from trellis.engagement.models import EngagementEvent
from trellis.interop.erasure.rules import settings_for
from trellis.interop.research.deidentify import (
    Deidentified,
    EnrollmentIn,
    EventIn,
    MoodIn,
    RareGroup,
    ScoreIn,
    Source,
    TooRare,
    deidentify,
)
from trellis.interop.research.files import Format
from trellis.journey.models import MoodCheckIn
from trellis.measures.models import QuestionnaireResponse


@dataclass(frozen=True)
class ResearchExport:
    data: Deidentified
    fmt: Format
    k: int


class ExportRefused(ValidationError):
    """The export was refused; `groups` names the combinations rarer than k, if that was why."""

    def __init__(self, message: str, groups: list[RareGroup] | None = None, k: int = 0) -> None:
        super().__init__(message)
        self.groups = groups or []
        self.k = k


def consenting_patients(organization: Organization) -> set[Any]:
    """Patients enrolled at the clinic whose research consent is a yes in force."""
    enrolled = set(
        Enrollment.objects.filter(organization=organization).values_list("patient_id", flat=True)
    )
    agreed = set()
    for user_id, answers in latest_consents_of(enrolled).items():
        for consent in answers:
            if (
                consent.document.kind == ConsentKind.RESEARCH
                and consent.agreed
                and consent.withdrawn_at is None
            ):
                agreed.add(user_id)
    return agreed


def source_for(organization: Organization) -> Source:
    """The clinic's rows for the consenting patients, as plain values."""
    patients = consenting_patients(organization)
    enrollments = [
        EnrollmentIn(
            enrollment=row["pk"],
            patient=row["patient_id"],
            program=row["program_version__program__slug"],
            support_level=row["support_level"],
            status=row["status"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
        )
        for row in Enrollment.objects.filter(organization=organization, patient_id__in=patients)
        .values(
            "pk",
            "patient_id",
            "program_version__program__slug",
            "support_level",
            "status",
            "started_at",
            "ended_at",
        )
        .order_by("pk")
    ]
    ids: list[Any] = [e.enrollment for e in enrollments]
    scores = [
        ScoreIn(
            enrollment=r["enrollment_id"],
            instrument=r["instrument"],
            total=r["total"],
            band=r["band"],
            submitted_at=r["submitted_at"],
        )
        for r in QuestionnaireResponse.objects.filter(enrollment_id__in=ids).values(
            "enrollment_id", "instrument", "total", "band", "submitted_at"
        )
    ]
    events = [
        EventIn(
            enrollment=r["enrollment_id"],
            occurred_at=r["occurred_at"],
            type=r["type"],
            step_kind=r["step_kind"],
            duration_s=r["duration_s"],
        )
        for r in EngagementEvent.objects.filter(enrollment_id__in=ids)
        .values("enrollment_id", "occurred_at", "type", "step_kind", "duration_s")
        .iterator(chunk_size=5000)
    ]
    moods = [
        MoodIn(enrollment=r["enrollment_id"], score=r["score"], recorded_at=r["created_at"])
        for r in MoodCheckIn.objects.filter(enrollment_id__in=ids).values(
            "enrollment_id", "score", "created_at"
        )
    ]
    return Source(enrollments=enrollments, scores=scores, events=events, moods=moods)


def export_research(
    organization: Organization,
    *,
    by: User,
    fmt: Format,
    now: datetime,
    rng: random.Random | None = None,
) -> ResearchExport:
    """De-identify the clinic's research data and record the export; a refusal (no
    consenting patient, or a group rarer than the clinic's k) is recorded too, then raised."""
    k = settings_for(organization).research_k
    with reading_from_replica():
        source = source_for(organization)
    with transaction.atomic():
        try:
            if not source.enrollments:
                raise ExportRefused(_("No patient of this clinic has agreed to research yet."))
            data = deidentify(source, k=k, rng=rng)
        except TooRare as rare:
            refused = ExportRefused(
                ngettext(
                    "%(n)s combination of program, level of support, status, age band and "
                    "sex describes fewer than %(k)s patients.",
                    "%(n)s combinations of program, level of support, status, age band and "
                    "sex describe fewer than %(k)s patients.",
                    len(rare.groups),
                )
                % {"n": len(rare.groups), "k": k},
                rare.groups,
                k,
            )
        except ExportRefused as empty:
            refused = empty
        else:
            audit.record(
                action="research.export",
                actor=by,
                organization=organization,
                details={
                    "format": fmt.value,
                    "k": k,
                    "patients": data.patients,
                    "rows": {name: len(rows) for name, rows in data.tables().items()},
                },
                at=now,
            )
            return ResearchExport(data=data, fmt=fmt, k=k)
        audit.record(
            action="research.export_refused",
            actor=by,
            organization=organization,
            details={"format": fmt.value, "k": k, "rare_groups": len(refused.groups)},
            at=now,
        )
    raise refused
