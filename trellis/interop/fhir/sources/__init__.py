"""Where each FHIR resource type's data comes from, for one clinic: `SOURCES` by type."""

from __future__ import annotations

from trellis.interop.fhir.sources.base import Context, Found, Page, Source
from trellis.interop.fhir.sources.care import (
    AppointmentSource,
    CarePlanSource,
    CommunicationSource,
)
from trellis.interop.fhir.sources.measures import (
    ObservationSource,
    QuestionnaireResponseSource,
    QuestionnaireSource,
)
from trellis.interop.fhir.sources.people import (
    CareTeamSource,
    GroupSource,
    PatientSource,
    PractitionerSource,
    patient_ids_in_group,
)

SOURCES: dict[str, Source] = {
    source.resource_type: source
    for source in (
        PatientSource(),
        PractitionerSource(),
        CareTeamSource(),
        GroupSource(),
        QuestionnaireSource(),
        QuestionnaireResponseSource(),
        ObservationSource(),
        AppointmentSource(),
        CarePlanSource(),
        CommunicationSource(),
    )
}

__all__ = ["SOURCES", "Context", "Found", "Page", "Source", "patient_ids_in_group"]
