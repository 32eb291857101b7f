"""Reading a referral Bundle (Patient + ServiceRequest) sent by the clinic's EHR. Pure: the
whole Bundle is checked before anything is written, and every problem is reported with
the FHIRPath of the element at fault, the entry's index and its fullUrl.

What Trellis reads (docs/referrals.md):

- Patient: the first `identifier` with both `system` and `value` (required), `name`
  (`given`, `family`, or `text`), `telecom` with system `email` (required: the invitation
  goes there) and `phone`/`sms`, `birthDate`, `communication.language`.
- ServiceRequest: `status` active, `intent` order (or original-order), `subject` pointing
  at a Patient of the Bundle (its fullUrl, or `Patient/<id>`), the program as a `code`
  coding from Trellis's programs code system (none: the clinic's default), the level of
  support as an `orderDetail` coding from the support-levels code system (none: the
  clinic's default).
- Practitioner, PractitionerRole and Organization entries (the requester) are accepted
  and not read. Any other resource type is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.interop.fhir.systems import PROGRAMS, SUPPORT_LEVELS
from trellis.interop.referrals.incoming import (
    MAX_NAME,
    MAX_SYSTEM,
    MAX_VALUE,
    IncomingReferral,
    email_problem,
    is_date,
    is_language,
    is_support_level,
    normal_email,
)

BUNDLE_TYPES = ("transaction", "batch", "collection")
CONTEXT_TYPES = ("Practitioner", "PractitionerRole", "Organization")
INTENTS = ("order", "original-order")
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a Bundle, named by its FHIRPath."""

    expression: str
    diagnostics: str
    entry_index: int | None = None
    full_url: str = ""
    code: str = "invalid"  # an OperationOutcome issue type

    @property
    def text(self) -> str:
        where = ""
        if self.entry_index is not None:
            where = f"entry {self.entry_index}"
            if self.full_url:
                where += f" ({self.full_url})"
            where += ": "
        return f"{where}{self.expression}: {self.diagnostics}"


class BundleRejected(Exception):
    """The Bundle cannot be taken: 400 when it is not a Bundle at all, 422 when an entry is
    wrong. Nothing has been written."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        self.status = status
        self.problems = problems
        super().__init__("; ".join(p.text for p in problems))


@dataclass
class ReferralBundle:
    type: str
    referrals: list[IncomingReferral] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codes(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    return [
        _text(c.get("code"))
        for c in _list(concept.get("coding"))
        if isinstance(c, Mapping) and c.get("system") == system and _text(c.get("code"))
    ]


@dataclass
class _Patient:
    index: int
    full_url: str
    system: str
    value: str
    email: str
    given: str
    family: str
    text: str
    phone: str
    language: str
    birth_date: str


def parse_bundle(body: bytes) -> ReferralBundle:
    """The referrals a Bundle carries, one per ServiceRequest; BundleRejected otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleRejected(400, [Problem("Bundle", f"the body is not JSON: {error}")]) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise BundleRejected(
            400, [Problem("Bundle", f"expected a Bundle resource, found {found!r}")]
        )
    bundle_type = data.get("type")
    if bundle_type not in BUNDLE_TYPES:
        raise BundleRejected(
            400,
            [
                Problem(
                    "Bundle.type", f"must be one of {', '.join(BUNDLE_TYPES)}, not {bundle_type!r}"
                )
            ],
        )
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise BundleRejected(400, [Problem("Bundle.entry", "must be a list")])
    if len(entries) > MAX_ENTRIES:
        raise BundleRejected(
            400, [Problem("Bundle.entry", f"at most {MAX_ENTRIES} entries in one Bundle")]
        )

    problems: list[Problem] = []
    patients: dict[str, _Patient | None] = {}  # None: a Patient with problems of its own
    requests: list[tuple[int, str, Mapping[str, Any]]] = []
    seen_urls: set[str] = set()
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            problems.append(Problem(f"{path}.resource", "each entry needs a resource", index))
            continue
        full_url = _text(entry.get("fullUrl"))
        if full_url and full_url in seen_urls:
            problems.append(
                Problem(f"{path}.fullUrl", "the same fullUrl is used twice", index, full_url)
            )
        seen_urls.add(full_url)
        resource = entry["resource"]
        kind = resource.get("resourceType")
        if kind == "Patient":
            patient = _read_patient(resource, index, full_url, problems)
            for key in _patient_keys(full_url, resource):
                patients[key] = patient
        elif kind == "ServiceRequest":
            requests.append((index, full_url, resource))
        elif kind not in CONTEXT_TYPES:
            problems.append(
                Problem(
                    f"{path}.resource",
                    f"a referral Bundle holds Patient and ServiceRequest resources, not {kind!r}",
                    index,
                    full_url,
                    code="not-supported",
                )
            )
    if not requests and not problems:
        problems.append(Problem("Bundle.entry", "the Bundle holds no ServiceRequest"))
    referrals = []
    for index, full_url, resource in requests:
        referral = _read_request(resource, index, full_url, patients, problems)
        if referral is not None:
            referrals.append(referral)
    if problems:
        raise BundleRejected(422, problems)
    return ReferralBundle(type=bundle_type, referrals=referrals)


def _patient_keys(full_url: str, resource: Mapping[str, Any]) -> list[str]:
    keys = [full_url] if full_url else []
    resource_id = _text(resource.get("id"))
    if resource_id:
        keys.append(f"Patient/{resource_id}")
    return keys


def _read_patient(
    resource: Mapping[str, Any], index: int, full_url: str, problems: list[Problem]
) -> _Patient | None:
    path = f"Bundle.entry[{index}].resource"
    before = len(problems)

    def problem(where: str, message: str) -> None:
        problems.append(Problem(f"{path}.{where}", message, index, full_url, code="required"))

    system = value = ""
    for identifier in _list(resource.get("identifier")):
        if (
            isinstance(identifier, Mapping)
            and _text(identifier.get("system"))
            and _text(identifier.get("value"))
        ):
            system, value = _text(identifier["system"]), _text(identifier["value"])
            break
    if not system:
        problem("identifier", "the patient needs an identifier with a system and a value")
    elif len(system) > MAX_SYSTEM or len(value) > MAX_VALUE:
        problem(
            "identifier",
            f"the identifier's system is at most {MAX_SYSTEM} characters, its value {MAX_VALUE}",
        )

    email = phone = ""
    for contact in _list(resource.get("telecom")):
        if not isinstance(contact, Mapping):
            continue
        if contact.get("system") == "email" and not email:
            email = normal_email(_text(contact.get("value")))
        elif contact.get("system") in ("phone", "sms") and not phone:
            phone = _text(contact.get("value"))[:40]
    wrong_email = email_problem(email)
    if wrong_email:
        problem("telecom", wrong_email)

    given = family = text = ""
    names = [n for n in _list(resource.get("name")) if isinstance(n, Mapping)]
    official = [n for n in names if n.get("use") == "official"]
    if names:
        name = (official or names)[0]
        given = " ".join(_text(g) for g in _list(name.get("given")) if _text(g))
        family = _text(name.get("family"))
        text = _text(name.get("text"))
    if len(f"{given} {family}") > MAX_NAME or len(text) > MAX_NAME:
        problem("name", f"the name is at most {MAX_NAME} characters")

    birth_date = _text(resource.get("birthDate"))
    if birth_date and not is_date(birth_date):
        problem("birthDate", f"{birth_date!r} is not a date (YYYY-MM-DD)")

    language = ""
    communications = [c for c in _list(resource.get("communication")) if isinstance(c, Mapping)]
    communications.sort(key=lambda c: c.get("preferred") is not True)
    for communication in communications:
        concept = communication.get("language")
        if isinstance(concept, Mapping):
            codes = [
                _text(c.get("code")) for c in _list(concept.get("coding")) if isinstance(c, Mapping)
            ]
            language = next((c for c in codes if c), "")
            if language:
                break
    if language and not is_language(language):
        problem("communication", f"{language[:40]!r} is not a language code (BCP-47)")

    if len(problems) > before:
        return None
    return _Patient(
        index, full_url, system, value, email, given, family, text, phone, language, birth_date
    )


def _read_request(
    resource: Mapping[str, Any],
    index: int,
    full_url: str,
    patients: Mapping[str, _Patient | None],
    problems: list[Problem],
) -> IncomingReferral | None:
    path = f"Bundle.entry[{index}].resource"
    before = len(problems)

    def problem(where: str, message: str, code: str = "invalid") -> None:
        problems.append(Problem(f"{path}.{where}", message, index, full_url, code=code))

    status = resource.get("status")
    if status != "active":
        problem("status", f"a referral's status must be 'active', not {status!r}", "value")
    intent = resource.get("intent")
    if intent not in INTENTS:
        problem("intent", f"a referral's intent must be 'order', not {intent!r}", "value")

    subject = resource.get("subject")
    reference = _text(subject.get("reference")) if isinstance(subject, Mapping) else ""
    patient = patients.get(reference) if reference else None
    if not reference:
        problem("subject", "a referral needs a subject: a reference to a Patient entry", "required")
    elif reference not in patients:
        problem(
            "subject",
            f"{reference!r} is not a Patient of this Bundle (give its fullUrl or Patient/<id>)",
            "not-found",
        )

    programs = _codes(resource.get("code"), PROGRAMS)
    program = programs[0] if programs else ""
    levels = [c for d in _list(resource.get("orderDetail")) for c in _codes(d, SUPPORT_LEVELS)]
    level = levels[0] if levels else ""
    if level and not is_support_level(level):
        problem(
            "orderDetail",
            f"{level!r} is not a level of support (self_guided, coached, therapist_assisted)",
            "code-invalid",
        )

    if len(problems) > before or patient is None:
        return None
    request_id = _text(resource.get("id"))
    for identifier in _list(resource.get("identifier")):
        if isinstance(identifier, Mapping) and _text(identifier.get("value")):
            request_id = _text(identifier["value"])
            break
    return IncomingReferral(
        where=f"Bundle.entry[{index}]",
        identifier_system=patient.system,
        identifier_value=patient.value,
        email=patient.email,
        given_name=patient.given,
        family_name=patient.family,
        name_text=patient.text,
        program=program,
        support_level=level,
        phone=patient.phone,
        language=patient.language,
        birth_date=patient.birth_date,
        entry_index=index,
        full_url=full_url,
        request_id=request_id[:120],
    )
