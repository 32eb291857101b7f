"""When a patient's record may be erased, and when it must not be.

Each rule that stands in the way is a `Refusal` with a code (for tests and the audit trail)
and a plain-language message (for the admin and the patient). docs/data-rights.md lists
the rules and why each exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from trellis.accounts.models import STAFF_ROLES, Membership, Organization, Role, User
from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.interop.models import DataRightsSettings, Erasure, ErasureStatus


class Rule(StrEnum):
    NOT_ALLOWED = "erasure_on_request_off"
    STAFF = "staff_member"
    NOT_PATIENT = "not_a_patient_here"
    ALREADY_ERASED = "already_erased"
    ACTIVE_ENROLLMENT = "active_enrollment"
    OPEN_SAFETY_ALERT = "open_safety_alert"
    OTHER_CLINIC = "records_at_another_clinic"


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    message: str


def settings_for(organization: Organization) -> DataRightsSettings:
    """The clinic's data-rights settings (the defaults, unsaved, when it has none)."""
    found = DataRightsSettings.objects.filter(organization=organization).first()
    return found or DataRightsSettings(organization=organization)


def is_patient_of(person: User, organization: Organization) -> bool:
    return (
        Membership.objects.filter(user=person, organization=organization, role=Role.PATIENT)
        .exclude(is_active=False)
        .exists()
        or Enrollment.objects.filter(patient=person, organization=organization).exists()
    )


def refusals(person: User, organization: Organization, *, on_request: bool) -> list[Refusal]:
    """Every rule that stands in the way of erasing `person` for `organization` now.

    On request: the clinic must allow erasure on request, and the person must have no
    records at another clinic (that clinic decides about its own). Always: the person is a
    patient of this clinic and not a member of staff anywhere, has not been erased already,
    is in no program (an active enrollment is treatment in progress) and has no open or
    acknowledged safety alert (the clinic must act on a risk before the record goes).
    """
    found: list[Refusal] = []
    if Erasure.objects.filter(person_id=person.pk, status=ErasureStatus.DONE).exists():
        return [Refusal(Rule.ALREADY_ERASED, _("This person's record has already been erased."))]
    if on_request and not settings_for(organization).erasure_on_request:
        found.append(
            Refusal(
                Rule.NOT_ALLOWED,
                _(
                    "This clinic keeps records for its retention time and does not erase "
                    "them on request."
                ),
            )
        )
    if Membership.objects.filter(user=person, role__in=STAFF_ROLES).exists():
        found.append(
            Refusal(
                Rule.STAFF,
                _("Only patients' records can be erased; this person is a member of staff."),
            )
        )
    if not is_patient_of(person, organization):
        found.append(Refusal(Rule.NOT_PATIENT, _("This person is not a patient of this clinic.")))
    if Enrollment.objects.filter(patient=person, status=EnrollmentStatus.ACTIVE).exists():
        found.append(
            Refusal(
                Rule.ACTIVE_ENROLLMENT,
                _(
                    "The patient is still in a program. A clinician ends the program first, "
                    "so that care is handed over safely."
                ),
            )
        )
    if Alert.objects.filter(
        enrollment__patient=person,
        kind=AlertKind.SAFETY,
        state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
    ).exists():
        found.append(
            Refusal(
                Rule.OPEN_SAFETY_ALERT,
                _(
                    "A safety alert about the patient is still open. A clinician must act on "
                    "it and close it first."
                ),
            )
        )
    if on_request and (
        Enrollment.objects.filter(patient=person).exclude(organization=organization).exists()
        or Membership.objects.filter(user=person).exclude(organization=organization).exists()
    ):
        found.append(
            Refusal(
                Rule.OTHER_CLINIC,
                _(
                    "The patient also has records at another clinic. Erasing removes the "
                    "person everywhere, so one clinic cannot decide it alone."
                ),
            )
        )
    return found
