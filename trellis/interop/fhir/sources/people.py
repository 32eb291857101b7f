"""Patients, practitioners, care teams and groups of one clinic."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from trellis.accounts.models import CLINICAL_ROLES, Membership, User
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus
from trellis.interop.fhir.resources import people
from trellis.interop.fhir.search import DATE, REFERENCE, TOKEN, DateRange, Token
from trellis.interop.fhir.sources.base import (
    NOTHING,
    Context,
    Found,
    RowSource,
    status_q,
    uuids,
)
from trellis.interop.models import PatientIdentifier
from trellis.programs.models import Program


def clinic_patient_ids(ctx: Context) -> QuerySet[Any]:
    """The ids of everyone enrolled (now or before) in the clinic: its patients."""
    return Enrollment.objects.filter(organization=ctx.organization).values("patient_id")


class PatientSource(RowSource):
    resource_type = "Patient"
    params = {"_id": TOKEN, "_lastUpdated": DATE, "identifier": TOKEN}
    documentation = {
        "identifier": "The patient's identifier in another system of the clinic: "
        "system|value (the EHR's medical record number) or value.",
    }
    patient_path = "pk"

    def rows(self, ctx: Context) -> QuerySet[Any]:
        return User.objects.filter(pk__in=clinic_patient_ids(ctx))

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        def identifier(token: Token) -> Q:
            found = PatientIdentifier.objects.filter(
                organization=ctx.organization, patient__isnull=False, value=token.code
            )
            if token.system is not None:
                found = found.filter(system=token.system)
            return Q(pk__in=found.values("patient_id"))

        return {"identifier": identifier}

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        identifiers: dict[Any, list[PatientIdentifier]] = defaultdict(list)
        for row in PatientIdentifier.objects.filter(
            organization=ctx.organization, patient_id__in=[u.pk for u in rows]
        ).order_by("system", "value"):
            identifiers[row.patient_id].append(row)
        name = ctx.organization.name
        return [
            Found(people.patient(user, identifiers[user.pk], name), frozenset({str(user.pk)}))
            for user in rows
        ]


class PractitionerSource(RowSource):
    resource_type = "Practitioner"
    params = {"_id": TOKEN, "_lastUpdated": DATE}
    about_patients = False

    def rows(self, ctx: Context) -> QuerySet[Any]:
        staff = Membership.objects.filter(
            organization=ctx.organization, role__in=list(CLINICAL_ROLES)
        )
        return User.objects.filter(pk__in=staff.values("user_id"))

    def for_patients(
        self, ctx: Context, rows: QuerySet[Any], patient_ids: set[str]
    ) -> QuerySet[Any]:
        teams = CareTeamMember.objects.filter(
            enrollment__organization=ctx.organization,
            enrollment__patient_id__in=uuids(patient_ids),
        )
        return rows.filter(pk__in=teams.values("supporter_id"))

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        return [Found(people.practitioner(user)) for user in rows]


ACTIVE_OR_NOT: dict[str, list[str]] = {
    "active": [EnrollmentStatus.ACTIVE.value],
    "inactive": [s.value for s in EnrollmentStatus if s != EnrollmentStatus.ACTIVE],
}


class CareTeamSource(RowSource):
    resource_type = "CareTeam"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "subject": REFERENCE,
        "status": TOKEN,
        "date": DATE,
    }
    documentation = {
        "status": "active (the enrollment is active) or inactive.",
        "date": "The period the team covers: the enrollment's start to its end.",
    }
    patient_path = "patient_id"
    order = ("started_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        return (
            Enrollment.objects.filter(organization=ctx.organization)
            .select_related("program_version")
            .defer("end_reason", "suggestion_reason", "program_version__source")
        )

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        return {
            "status": lambda token: status_q("status", ACTIVE_OR_NOT, token),
            "date": lambda value: (
                value.q("started_at", "ended_at") if isinstance(value, DateRange) else NOTHING
            ),
        }

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        members: dict[Any, list[tuple[CareTeamMember, str]]] = defaultdict(list)
        for member in (
            CareTeamMember.objects.filter(enrollment_id__in=[e.pk for e in rows])
            .annotate(supporter_name=F("supporter__full_name"))
            .order_by("role", "created_at")
        ):
            members[member.enrollment_id].append((member, str(member.supporter_name)))
        return [
            Found(people.care_team(e, members[e.pk]), frozenset({str(e.patient_id)})) for e in rows
        ]


class GroupSource(RowSource):
    """A Group is a program of the clinic; its members are the patients enrolled in it."""

    resource_type = "Group"
    params = {"_id": TOKEN}
    order = ("title", "id")
    about_patients = False

    def rows(self, ctx: Context) -> QuerySet[Any]:
        used = Enrollment.objects.filter(organization=ctx.organization).values(
            "program_version__program_id"
        )
        return Program.objects.filter(pk__in=used)

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        enrollments: dict[Any, list[Enrollment]] = defaultdict(list)
        for enrollment in (
            Enrollment.objects.filter(
                organization=ctx.organization,
                program_version__program_id__in=[p.pk for p in rows],
            )
            .annotate(program_ref=F("program_version__program_id"))
            .only("id", "patient_id", "status", "started_at", "ended_at")
            .order_by("-status", "started_at")
        ):
            enrollments[enrollment.program_ref].append(enrollment)
        name = ctx.organization.name
        found: list[Found] = []
        for program in rows:
            members = sorted(
                enrollments[program.pk], key=lambda e: (e.status != EnrollmentStatus.ACTIVE,)
            )
            found.append(
                Found(
                    people.group(program, members, name),
                    frozenset(str(e.patient_id) for e in members),
                )
            )
        return found

    def iterate(
        self, ctx: Context, *, patient_ids: set[str] | None, since: datetime | None
    ) -> Iterator[Found]:
        # Groups are a list of members, not a patient's data: exported whole, never by date.
        yield from super().iterate(ctx, patient_ids=None, since=None)


def patient_ids_in_group(ctx: Context, group_id: str) -> set[str] | None:
    """The ids of the patients in the clinic's Group (program) `group_id`; None if the
    clinic has no such group."""
    ids = uuids([group_id])
    if not ids or not GroupSource().rows(ctx).filter(pk=ids[0]).exists():
        return None
    return {
        str(p)
        for p in Enrollment.objects.filter(
            organization=ctx.organization, program_version__program_id=ids[0]
        ).values_list("patient_id", flat=True)
    }
