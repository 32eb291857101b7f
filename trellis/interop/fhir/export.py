"""Everything of one resource type, for a Bulk Data export and for a patient's own record.

Other parts of interop build on these:

- `EXPORT_TYPES`: the resource types an export can hold, in the order files are written.
- `iter_resources(organization, resource_type, patient_ids=, since=, include_message_text=)`:
  every resource of one type for the clinic, streamed from the database in batches (a
  handful of queries per 500 rows, never one per row).
- `patient_ids_in_group(organization, group_id)`: the patients of a Group (a program of the
  clinic), or None if the clinic has no such group.
- `patient_everything(patient, organization=None)`: a Bundle (type collection) of
  everything about one patient, message text included, for their own download.

None of these writes a disclosure: the export or the download that sends the data out does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from trellis.accounts.models import Organization
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import instant
from trellis.interop.fhir.sources import SOURCES, Context
from trellis.interop.fhir.sources import patient_ids_in_group as _in_group

EXPORT_TYPES: tuple[str, ...] = (
    "Patient",
    "Practitioner",
    "CareTeam",
    "Group",
    "CarePlan",
    "Questionnaire",
    "QuestionnaireResponse",
    "Observation",
    "Appointment",
    "Communication",
)


def iter_resources(
    organization: Organization,
    resource_type: str,
    *,
    patient_ids: set[str] | None,
    since: datetime | None,
    include_message_text: bool,
) -> Iterator[dict[str, Any]]:
    """Every resource of `resource_type` in the clinic.

    `patient_ids`: only what is about these patients (None: every patient of the clinic;
    Practitioners are then those on their care teams, Questionnaires and Groups are whole).
    `since`: only what changed after it (`meta.lastUpdated`). Raises KeyError for a type
    not in EXPORT_TYPES.
    """
    if resource_type not in EXPORT_TYPES:
        raise KeyError(resource_type)
    ctx = Context(organization, include_message_text=include_message_text)
    source = SOURCES[resource_type]
    for found in source.iterate(ctx, patient_ids=patient_ids, since=since):
        yield found.resource


def patient_ids_in_group(organization: Organization, group_id: str) -> set[str] | None:
    """The ids of the patients in the clinic's Group `group_id`, or None if it has none."""
    return _in_group(Context(organization), group_id)


def patient_everything(patient: Any, organization: Organization | None = None) -> dict[str, Any]:
    """A Bundle of type collection with everything Trellis keeps about one patient that
    FHIR can carry: their Patient resource, care plans and teams, the practitioners on
    them, the questionnaires they answered with the Observations made from them, sessions
    and messages (with their text). `organization`: one clinic; None: every clinic they
    were enrolled in."""
    if organization is not None:
        clinics = [organization]
    else:
        ids = Enrollment.objects.filter(patient=patient).values("organization_id")
        clinics = list(Organization.objects.filter(pk__in=ids).order_by("name"))
    base = systems.server_base()
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    used_instruments: set[str] = set()
    for clinic in clinics:
        ctx = Context(clinic, include_message_text=True)
        for resource_type in EXPORT_TYPES:
            if resource_type in ("Group", "Questionnaire"):
                continue
            for found in SOURCES[resource_type].iterate(
                ctx, patient_ids={str(patient.pk)}, since=None
            ):
                resource = found.resource
                key = f"{resource['resourceType']}/{resource['id']}"
                if key in seen:
                    continue
                seen.add(key)
                if resource_type == "QuestionnaireResponse":
                    used_instruments.add(resource["questionnaire"])
                entries.append({"fullUrl": f"{base}/{key}", "resource": resource})
    if clinics:
        ctx = Context(clinics[0])
        for found in SOURCES["Questionnaire"].iterate(ctx, patient_ids=None, since=None):
            if found.resource["url"] in used_instruments:
                key = f"Questionnaire/{found.resource['id']}"
                entries.append({"fullUrl": f"{base}/{key}", "resource": found.resource})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(timeutil.now()),
        "entry": entries,
    }
