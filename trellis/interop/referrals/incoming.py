"""One referral as it arrives, whichever way it came (a FHIR Bundle or a CSV line), and the
checks both ways share. Pure: no database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from trellis.care.models import SupportLevel

MAX_SYSTEM = 300  # PatientIdentifier.system
MAX_VALUE = 120  # PatientIdentifier.value
MAX_NAME = 200  # Invitation.full_name
MAX_EMAIL = 254

# FHIR's date (a year, a year and month, or a full date).
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
# A BCP-47 language tag, loosely: "fi", "es-MX", "zh-Hant-TW".
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class IncomingReferral:
    """A patient referred into a program. `where` says where it came from, for messages:
    `Bundle.entry[3]` (with `full_url`) or `line 4`."""

    where: str
    identifier_system: str
    identifier_value: str
    email: str
    given_name: str = ""
    family_name: str = ""
    name_text: str = ""
    program: str = ""  # a program's slug; blank: the clinic's default
    support_level: str = ""  # blank: the clinic's default
    phone: str = ""
    language: str = ""
    birth_date: str = ""
    entry_index: int | None = None  # the ServiceRequest's entry in a Bundle
    full_url: str = ""  # the ServiceRequest's fullUrl in a Bundle
    request_id: str = ""  # the ServiceRequest's id in the sender's system
    line: int | None = None  # the line of an uploaded file

    @property
    def full_name(self) -> str:
        joined = " ".join(p for p in (self.given_name, self.family_name) if p)
        return (joined or self.name_text)[:MAX_NAME]

    @property
    def identifier_key(self) -> tuple[str, str]:
        return (self.identifier_system, self.identifier_value)

    def extra_details(self) -> str:
        """What the referral said that an invitation has no place for, kept (encrypted)
        with the referral for the care team: phone, language, date of birth, the sender's
        request id."""
        lines = []
        if self.request_id:
            lines.append(f"ServiceRequest: {self.request_id}")
        if self.phone:
            lines.append(f"phone: {self.phone}")
        if self.language:
            lines.append(f"language: {self.language}")
        if self.birth_date:
            lines.append(f"birth date: {self.birth_date}")
        return "\n".join(lines)


def normal_email(value: str) -> str:
    return value.strip().lower()


def email_problem(value: str) -> str | None:
    """None for a usable e-mail address; else why not (English, for machine answers)."""
    if not value:
        return "an e-mail address is needed to invite the patient"
    if len(value) > MAX_EMAIL:
        return "the e-mail address is too long"
    try:
        validate_email(value)
    except ValidationError:
        return f"{value!r} is not an e-mail address"
    return None


def is_support_level(value: str) -> bool:
    return value in SupportLevel.values


def is_date(value: str) -> bool:
    return bool(_DATE.match(value))


def is_language(value: str) -> bool:
    return len(value) <= 35 and bool(_LANGUAGE.match(value))


def masked(value: str) -> str:
    """An identifier shown on a page: the last four characters, the rest hidden."""
    if len(value) <= 4:
        return "•" * len(value)
    return "•" * min(len(value) - 4, 6) + value[-4:]
