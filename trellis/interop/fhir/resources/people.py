"""Patient, Practitioner, CareTeam and Group: who the records are about and who helps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trellis.accounts.models import User
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus
from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import concept, instant, meta, ref
from trellis.interop.models import PatientIdentifier
from trellis.programs.models import Program


def _telecom(user: User) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"system": "email", "value": user.email, "use": "home"}]
    phone = (user.phone or "").strip()
    if phone:
        found.append({"system": "phone", "value": phone, "use": "mobile"})
    return found


def patient(
    user: User, identifiers: Iterable[PatientIdentifier], organization_name: str
) -> dict[str, Any]:
    """A patient of the clinic: their name, how to reach them, and their identifiers in the
    clinic's other systems (the EHR's medical record number)."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(user.pk),
        "meta": meta(user.updated_at),
        "active": user.is_active,
        "name": [_name(user)],
        "telecom": _telecom(user),
        "managingOrganization": {"display": organization_name},
    }
    found = [{"system": i.system, "value": i.value} for i in identifiers]
    if found:
        resource["identifier"] = found
    if user.language:
        resource["communication"] = [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": user.language}]}}
        ]
    return resource


def _name(user: User) -> dict[str, Any]:
    name: dict[str, Any] = {"use": "official", "text": user.full_name or user.email}
    words = (user.full_name or "").split()
    if len(words) >= 2:
        name["family"] = words[-1]
        name["given"] = words[:-1]
    elif words:
        name["given"] = words
    return name


def practitioner(user: User) -> dict[str, Any]:
    """A member of staff who supports patients (a coach, a therapist, a supervisor)."""
    return {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "meta": meta(user.updated_at),
        "active": user.is_active,
        "name": [_name(user)],
        "telecom": [{"system": "email", "value": user.email, "use": "work"}],
    }


def care_team(
    enrollment: Enrollment, members: Sequence[tuple[CareTeamMember, str]]
) -> dict[str, Any]:
    """The supporters of one enrollment: its id is the enrollment's, like its CarePlan's."""
    period: dict[str, str] = {"start": instant(enrollment.started_at)}
    if enrollment.ended_at:
        period["end"] = instant(enrollment.ended_at)
    active = enrollment.status == EnrollmentStatus.ACTIVE
    resource: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": str(enrollment.pk),
        "meta": meta(enrollment.updated_at),
        "status": "active" if active else "inactive",
        "name": f"Care team: {enrollment.program_version.title}",
        "subject": ref("Patient", enrollment.patient_id),
        "period": period,
    }
    participants: list[dict[str, Any]] = []
    for member, supporter_name in members:
        participant: dict[str, Any] = {
            "role": [concept(systems.CARE_TEAM_ROLES, member.role, str(member.get_role_display()))],
            "member": ref("Practitioner", member.supporter_id, supporter_name),
        }
        if not member.active:
            # Taken off the team: the row's last change is when.
            participant["period"] = {"end": instant(member.updated_at)}
        participants.append(participant)
    if participants:
        resource["participant"] = participants
    return resource


def group(
    program: Program, enrollments: Sequence[Enrollment], organization_name: str
) -> dict[str, Any]:
    """A program of the clinic and the patients enrolled in it (for a Group $export)."""
    members: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for enrollment in enrollments:
        if enrollment.patient_id in seen:
            continue
        seen.add(enrollment.patient_id)
        period = {"start": instant(enrollment.started_at)}
        if enrollment.ended_at:
            period["end"] = instant(enrollment.ended_at)
        members.append(
            {
                "entity": ref("Patient", enrollment.patient_id),
                "period": period,
                "inactive": enrollment.status != EnrollmentStatus.ACTIVE,
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": str(program.pk),
        "meta": meta(program.updated_at),
        "identifier": [{"system": systems.PROGRAMS, "value": program.slug}],
        "active": True,
        "type": "person",
        "actual": True,
        "code": concept(systems.PROGRAMS, program.slug, program.title),
        "name": f"{program.title} ({organization_name})",
        "quantity": len(members),
    }
    if members:
        resource["member"] = members
    return resource
