"""The URLs that name things in Trellis's FHIR resources: the code systems, the canonical
URLs of its questionnaires, the profiles followed, and where the server is.

Trellis's own code systems live under one stable namespace, `CANONICAL`. It names
concepts; it is not a web address anyone needs to reach, and it never depends on where a
clinic runs Trellis, so two clinics' records mean the same thing by the same code.
docs/fhir.md lists each system and its codes.
"""

from __future__ import annotations

from django.conf import settings

FHIR_VERSION = "4.0.1"
CONTENT_TYPE = "application/fhir+json; fhirVersion=4.0"
BASE_PATH = "/fhir/R4"

CANONICAL = "https://trellis.example/fhir"

# Trellis's own code systems.
INSTRUMENTS = f"{CANONICAL}/CodeSystem/instruments"  # totals and items with no LOINC code
SUPPORT_LEVELS = f"{CANONICAL}/CodeSystem/support-levels"
PROGRAMS = f"{CANONICAL}/CodeSystem/programs"
CARE_TEAM_ROLES = f"{CANONICAL}/CodeSystem/care-team-roles"
BANDS = f"{CANONICAL}/CodeSystem/severity-bands"
SESSION_MODES = f"{CANONICAL}/CodeSystem/session-modes"
MESSAGE_DIRECTIONS = f"{CANONICAL}/CodeSystem/message-directions"


def answers_system(instrument_code: str) -> str:
    """The code system of one questionnaire's answer options (the code is the value)."""
    return f"{CANONICAL}/CodeSystem/answers/{instrument_code}"


def questionnaire_url(instrument_code: str) -> str:
    """A Questionnaire's canonical URL, which each QuestionnaireResponse names."""
    return f"{CANONICAL}/Questionnaire/{instrument_code}"


# Code systems and profiles defined by HL7.
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SCREENING_ASSESSMENT_PROFILE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
)
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
RESTFUL_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
EXPORT_OPERATION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
GROUP_EXPORT_OPERATION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
PATIENT_EXPORT_OPERATION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"


def server_base() -> str:
    """The absolute base of the FHIR server where no request says it (exports, downloads):
    the TRELLIS_BASE_URL setting followed by /fhir/R4."""
    return str(settings.TRELLIS_BASE_URL).rstrip("/") + BASE_PATH
