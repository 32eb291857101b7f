"""Every write about a patient's care: one module per job; import from here.

- `enrollments`: enrolling a patient, choosing and removing supporters, ending an enrollment.
- `stepped_care`: suggesting more or less support, a clinician's decision, reassigning.
- `notes`: the care team's notes on a record.
"""

from trellis.care.services.enrollments import (
    assign_supporter,
    end_enrollment,
    enroll,
    remove_supporter,
)
from trellis.care.services.notes import MAX_NOTE, add_care_note
from trellis.care.services.stepped_care import (
    DECIDING_ROLES,
    MAX_REASON,
    confirm_step_change,
    decline_step_change,
    reassign,
    set_support_level,
    suggest_step_change,
)

__all__ = [
    "DECIDING_ROLES",
    "MAX_NOTE",
    "MAX_REASON",
    "add_care_note",
    "assign_supporter",
    "confirm_step_change",
    "decline_step_change",
    "end_enrollment",
    "enroll",
    "reassign",
    "remove_supporter",
    "set_support_level",
    "suggest_step_change",
]
