"""What a read of patient data is called in the audit trail.

Every page and API operation that shows a patient's clinical data to someone other than
the patient writes one audit event through `trellis.audit.services.note_read`, naming one
of these actions. docs/audit.md lists where each is written.
"""

from __future__ import annotations

from enum import StrEnum


class Read(StrEnum):
    """The action of each kind of read. One patient's data names the patient; a list of
    many patients' data names the set (its count and the patients' ids)."""

    # One patient's data.
    RECORD = "record.view"  # the patient record, or its summary in the API
    CARE_NOTES = "care_notes.view"  # the care team's notes on an enrollment
    SCORES = "measures.view"  # questionnaires due, scores and outcome (API)
    PROGRESS = "measures.view_progress"  # the staff page of scores over time and outcomes
    JOURNEY = "journey.view"  # today, a step, the journal or the story (API)
    MESSAGES = "message.view"  # a thread, read without leaving read receipts (API)
    MESSAGES_OPENED = "message.read"  # a thread opened by the care team, with read receipts
    ALERT = "alert.view"  # one alert, with the answer or facts that raised it
    APPOINTMENTS = "appointments.view"  # one enrollment's sessions (API)
    # Many patients' data at once.
    CASELOAD = "caseload.view"  # the caseload: names, reasons, scores, activity
    ALERTS = "alerts.list"  # alerts of several patients (the inbox, the API's list)
    SESSIONS = "appointments.list"  # a supporter's sessions with their patients
    ENROLLMENTS = "enrollments.list"  # the enrollments in a supporter's reach (API)
    AMENDMENTS = "amendments.list"  # patients' requests for corrections, for a clinician
    # The audit trail itself (it names patients by id, never their clinical content).
    TRAIL = "audit.view"
    TRAIL_EXPORT = "audit.export"


VIA = ("page", "api")

# The reads of a list: their event names its patients in `details["patients"]`.
LIST_READS = (Read.CASELOAD, Read.ALERTS, Read.SESSIONS, Read.ENROLLMENTS, Read.AMENDMENTS)
