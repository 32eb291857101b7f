"""Questionnaire, QuestionnaireResponse and Observation: the instruments, what a patient
answered, and the scores.

A response makes one Observation for its total and one for each item answered, shaped
after the US Core Observation Screening Assessment profile: category `survey`, LOINC codes
where LOINC has them (PHQ-9, GAD-7, PHQ-2 and their items), Trellis's own instruments code
system where it has none (eHEALS), the total pointing at its items (`hasMember`) and every
Observation at the response it was derived from (`derivedFrom`).

Observation ids are the response's id followed by `-t` (the total) or `-i<n>` (the n-th
item of the instrument, counting from 1), so a single response is enough to find any of
them again.
"""

from __future__ import annotations

import re
from typing import Any

from trellis.interop.fhir import loinc, systems
from trellis.interop.fhir.resources import coding, concept, instant, meta, ref
from trellis.measures.models import QuestionnaireResponse
from trellis.programs.instruments import Instrument, Item

OBSERVATION_ID_RE = re.compile(
    r"^(?P<response>[0-9a-fA-F-]{36})-(?:(?P<total>t)|i(?P<item>[1-9][0-9]{0,2}))$"
)
SURVEY = concept(systems.OBSERVATION_CATEGORY, "survey", "Survey")


def questionnaire_id(instrument_code: str) -> str:
    """A FHIR id for an instrument code (ids allow no underscore: it becomes a hyphen)."""
    return instrument_code.replace("_", "-")


def _answer(instrument: Instrument, item: Item, value: int) -> dict[str, Any] | None:
    option = next((o for o in instrument.options_for(item) if o.value == value), None)
    if option is None:
        return None
    return coding(systems.answers_system(instrument.code), str(value), option.label)


def item_coding(instrument: Instrument, item: Item) -> dict[str, str]:
    if item.loinc:
        return coding(loinc.SYSTEM, item.loinc, loinc.display(item.loinc) or item.text)
    return coding(systems.INSTRUMENTS, f"{instrument.code}/{item.id}", item.text)


def total_coding(instrument: Instrument) -> dict[str, str]:
    """The code of an instrument's total: LOINC's, or Trellis's instruments system's."""
    return _total_code(instrument)["coding"][0]


def _total_code(instrument: Instrument) -> dict[str, Any]:
    text = f"{instrument.short_title or instrument.code} total score"
    if instrument.loinc_total:
        return {
            "coding": [
                coding(loinc.SYSTEM, instrument.loinc_total, loinc.display(instrument.loinc_total))
            ],
            "text": text,
        }
    return concept(systems.INSTRUMENTS, instrument.code, text)


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    """An instrument as published: its items, their codes and answer options (each option's
    code is the value Trellis scores, also given as its ordinal value)."""
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        entry: dict[str, Any] = {
            "linkId": item.id,
            "code": [item_coding(instrument, item)],
            "text": item.text,
            "type": "choice",
            "required": item.required,
            "answerOption": [
                {
                    "valueCoding": {
                        **coding(systems.answers_system(instrument.code), str(o.value), o.label),
                        "extension": [{"url": systems.ORDINAL_VALUE, "valueDecimal": o.value}],
                    }
                }
                for o in instrument.options_for(item)
            ],
        }
        items.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(instrument.code),
        "url": systems.questionnaire_url(instrument.code),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Trellis",
        "description": instrument.instructions,
        "item": items,
    }
    if instrument.loinc_panel:
        resource["code"] = [
            coding(loinc.SYSTEM, instrument.loinc_panel, loinc.display(instrument.loinc_panel))
        ]
    notes = " ".join(part for part in (instrument.licence, instrument.citation) if part)
    if notes:
        resource["copyright"] = notes
    return resource


def _answered(
    response: QuestionnaireResponse, instrument: Instrument
) -> list[tuple[int, Item, int]]:
    """(position from 1, item, value) for each item with an answer, in the instrument's order."""
    answers = response.answers if isinstance(response.answers, dict) else {}
    found: list[tuple[int, Item, int]] = []
    for position, item in enumerate(instrument.items, start=1):
        value = answers.get(item.id)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((position, item, value))
    return found


def questionnaire_response(
    response: QuestionnaireResponse, instrument: Instrument, patient_id: Any
) -> dict[str, Any]:
    """One completed questionnaire with every answer given."""
    items: list[dict[str, Any]] = []
    for _position, item, value in _answered(response, instrument):
        answer = _answer(instrument, item, value)
        entry: dict[str, Any] = {"linkId": item.id, "text": item.text}
        entry["answer"] = [{"valueCoding": answer} if answer else {"valueInteger": value}]
        items.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "meta": meta(response.updated_at),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{response.client_id}"},
        "questionnaire": systems.questionnaire_url(instrument.code),
        "status": "completed",
        "subject": ref("Patient", patient_id),
        "authored": instant(response.submitted_at),
        "author": ref("Patient", patient_id),
        "source": ref("Patient", patient_id),
    }
    if items:
        resource["item"] = items
    return resource


def observation_keys(response: QuestionnaireResponse, instrument: Instrument) -> list[str]:
    """The ids of the Observations a response makes, total first, without building them."""
    keys = [f"{response.pk}-t"] if response.total is not None else []
    keys += [f"{response.pk}-i{position}" for position, _i, _v in _answered(response, instrument)]
    return keys


def observation_codes(
    response: QuestionnaireResponse, instrument: Instrument
) -> list[tuple[str, dict[str, Any]]]:
    """(Observation id, its code's coding) for each Observation a response makes."""
    found: list[tuple[str, dict[str, Any]]] = []
    if response.total is not None:
        found.append((f"{response.pk}-t", total_coding(instrument)))
    for position, item, _value in _answered(response, instrument):
        found.append((f"{response.pk}-i{position}", item_coding(instrument, item)))
    return found


def observations(
    response: QuestionnaireResponse, instrument: Instrument, patient_id: Any
) -> list[dict[str, Any]]:
    """The total's Observation (if scored) and one per item answered."""
    common: dict[str, Any] = {
        "meta": meta(response.updated_at, systems.SCREENING_ASSESSMENT_PROFILE),
        "status": "final",
        "category": [SURVEY],
        "subject": ref("Patient", patient_id),
        "effectiveDateTime": instant(response.submitted_at),
        "issued": instant(response.created_at),
        "performer": [ref("Patient", patient_id)],
        "derivedFrom": [ref("QuestionnaireResponse", response.pk)],
    }
    items: list[dict[str, Any]] = []
    for position, item, value in _answered(response, instrument):
        answer = _answer(instrument, item, value)
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{response.pk}-i{position}",
            **common,
            "code": {"coding": [item_coding(instrument, item)], "text": item.text},
        }
        if answer is not None:
            observation["valueCodeableConcept"] = {"coding": [answer], "text": answer["display"]}
        else:
            observation["valueInteger"] = value
        items.append(observation)
    if response.total is None:
        return items
    total: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{response.pk}-t",
        **common,
        "code": _total_code(instrument),
        "valueInteger": response.total,
    }
    band = instrument.band_for(response.total)
    if band is not None:
        total["interpretation"] = [
            concept(
                systems.BANDS,
                band.severity,
                band.label,
                f"{band.label} ({band.low}-{band.high} on {instrument.short_title})",
            )
        ]
    if response.prorated:
        total["note"] = [{"text": "Prorated: the total was scaled up from the items answered."}]
    if items:
        total["hasMember"] = [ref("Observation", o["id"]) for o in items]
    return [total, *items]
