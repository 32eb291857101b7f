"""The resource types a backend client may be given read scopes for."""

from __future__ import annotations

# Until the FHIR export module names its types, the types the issue lists.
_TYPES = (
    "Appointment",
    "CarePlan",
    "CareTeam",
    "Communication",
    "Observation",
    "Patient",
    "Practitioner",
    "Questionnaire",
    "QuestionnaireResponse",
)


def readable_types() -> list[str]:
    return sorted(_TYPES)
