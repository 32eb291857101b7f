"""CarePlan, Appointment and Communication: the program a patient is in, their live
sessions, and the messages with their care team."""

from __future__ import annotations

from typing import Any

from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import concept, instant, meta, ref
from trellis.messaging.models import Message

# An enrollment's status as a CarePlan's: a patient who withdrew ended the plan before it
# was complete (revoked); a discharge closes it as done (completed).
CAREPLAN_STATUS: dict[str, str] = {
    EnrollmentStatus.ACTIVE: "active",
    EnrollmentStatus.COMPLETED: "completed",
    EnrollmentStatus.DISCHARGED: "completed",
    EnrollmentStatus.WITHDRAWN: "revoked",
}
APPOINTMENT_STATUS: dict[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.ATTENDED: "fulfilled",
    AppointmentStatus.NO_SHOW: "noshow",
}


def care_plan(enrollment: Enrollment) -> dict[str, Any]:
    """An enrollment: the program (and version) followed, the level of support, the period."""
    version = enrollment.program_version
    program = version.program
    period: dict[str, str] = {"start": instant(enrollment.started_at)}
    if enrollment.ended_at:
        period["end"] = instant(enrollment.ended_at)
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(enrollment.pk),
        "meta": meta(enrollment.updated_at),
        "status": CAREPLAN_STATUS.get(enrollment.status, "unknown"),
        "intent": "plan",
        "category": [
            concept(systems.CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment"),
            concept(systems.PROGRAMS, program.slug, program.title),
            concept(
                systems.SUPPORT_LEVELS,
                enrollment.support_level,
                str(enrollment.get_support_level_display()),
            ),
        ],
        "title": f"{version.title} (version {version.number})",
        "description": version.summary or version.title,
        "subject": ref("Patient", enrollment.patient_id),
        "period": period,
        "created": instant(enrollment.created_at),
        "careTeam": [ref("CareTeam", enrollment.pk)],
    }
    return resource


def appointment(session: Appointment, patient_id: Any, supporter_name: str) -> dict[str, Any]:
    """A live session between a patient and their supporter."""
    status = APPOINTMENT_STATUS.get(session.status, "booked")
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(session.pk),
        "meta": meta(session.updated_at),
        "status": status,
        "serviceType": [
            concept(systems.SESSION_MODES, session.mode, str(session.get_mode_display()))
        ],
        "description": f"Live session ({session.get_mode_display()})",
        "start": instant(session.starts_at),
        "end": instant(session.ends_at),
        "minutesDuration": max(1, int((session.ends_at - session.starts_at).total_seconds() // 60)),
        "created": instant(session.created_at),
        "participant": [
            {"actor": ref("Patient", patient_id), "required": "required", "status": "accepted"},
            {
                "actor": ref("Practitioner", session.supporter_id, supporter_name),
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if session.status == AppointmentStatus.CANCELLED:
        resource["cancelationReason"] = {"text": "Cancelled"}
    return resource


def communication(
    message: Message, patient_id: Any, enrollment_id: Any, *, include_text: bool
) -> dict[str, Any]:
    """A message between a patient and their care team: who, when, whether it was read;
    the words only for a client allowed to read them (`include_text`)."""
    patient = ref("Patient", patient_id)
    team = ref("CareTeam", enrollment_id)
    direction = "from-patient" if message.from_patient else "to-patient"
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(message.pk),
        "meta": meta(message.updated_at),
        "status": "completed",
        "category": [
            concept(
                systems.MESSAGE_DIRECTIONS,
                direction,
                "From the patient" if message.from_patient else "From the care team",
            )
        ],
        "subject": patient,
        "sent": instant(message.sent_at),
        "sender": patient if message.from_patient else ref("Practitioner", message.sender_id),
        "recipient": [team if message.from_patient else patient],
    }
    if message.read_at:
        resource["received"] = instant(message.read_at)
    if include_text:
        resource["payload"] = [{"contentString": message.body}]
    return resource
