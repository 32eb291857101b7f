"""Who may read the clinic's dropout-risk page (trellis/insights/urls.py; checked by
tests/test_authorization_matrix.py).

Decisions:
- The model page (the card of the clinic's model and its monthly checks, or why it has
  none) is for the clinic's clinicians (coaches, therapists, supervisors), who act on its
  risk alerts, and for its admins, who install the model and are told when it drifts.
  Patients and researchers get 403; integration tokens do not open HTML pages.
- It shows no patient's data: figures over the enrollments a model learned from and over
  the outcomes of its estimates, never one patient's score.
"""

from __future__ import annotations

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    Route,
    expect,
)

ROUTES = [
    Route(
        "insights:model",
        expect(
            ALLOWED,
            anonymous=LOGIN,
            token_read=LOGIN,
            token_write=LOGIN,
            patient=FORBIDDEN,
            other_clinic_patient=FORBIDDEN,
            researcher=FORBIDDEN,
        ),
        note="the clinic's model card, or why it has none",
        reads=NO_PATIENT_DATA,
    ),
]
