"""The parts of a patient's record, in the words the patient reads, and the rules of an
amendment request and of a clinician's decision on it. Pure: no database.

A request names the part of the record it is about by a key from `PARTS` (never typed
text: the key is stored as it is); what the patient wants changed, which may say which
entry in their own words, is free text and is stored encrypted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The order My record shows them in.
PARTS: dict[str, Promise] = {
    "details": gettext_lazy("Your details"),
    "programs": gettext_lazy("Programs and steps"),
    "questionnaires": gettext_lazy("Questionnaires"),
    "mood": gettext_lazy("Mood check-ins"),
    "journal": gettext_lazy("Journal"),
    "messages": gettext_lazy("Messages"),
    "sessions": gettext_lazy("Sessions"),
    "consents": gettext_lazy("Consents"),
    "alerts": gettext_lazy("Alerts about your answers"),
    "other": gettext_lazy("Something else"),
}

MAX_CHANGE = 2_000  # characters of a requested change
MAX_REASON = 2_000  # characters of a clinician's reason

# HIPAA (45 CFR 164.526(b)(2)): a request is acted on within 60 days of receipt.
DECIDE_WITHIN = timedelta(days=60)


def part_label(key: str) -> str:
    """The part's name in the reader's language ("Something else" for an unknown key)."""
    return str(PARTS.get(key, PARTS["other"]))


def decide_by(received_at: datetime) -> datetime:
    """The last moment the clinic may act on a request received at `received_at`."""
    return received_at + DECIDE_WITHIN


def clean_request(about: str, change: str) -> tuple[str, str]:
    """The part and the requested change, checked; ValidationError naming the field."""
    about = (about or "").strip()
    change = (change or "").strip()
    errors: dict[str, str] = {}
    if about not in PARTS:
        errors["about"] = _("Choose which part of your record this is about.")
    if not change:
        errors["change"] = _("Write what should be corrected, and how.")
    elif len(change) > MAX_CHANGE:
        errors["change"] = _("Please keep it to %(max)d characters (this has %(count)d).") % {
            "max": MAX_CHANGE,
            "count": len(change),
        }
    if errors:
        raise ValidationError(errors)
    return about, change


def clean_decision(decision: str, reason: str) -> tuple[bool, str]:
    """Accept (True) or refuse (False), and the reason; a refusal must give one."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if decision not in ("accept", "refuse"):
        errors["decision"] = _("Choose to accept or to refuse the correction.")
    elif decision == "refuse" and not reason:
        errors["reason"] = _("Say why the correction is refused: the patient reads it.")
    if len(reason) > MAX_REASON:
        errors["reason"] = _("Please keep it to %(max)d characters (this has %(count)d).") % {
            "max": MAX_REASON,
            "count": len(reason),
        }
    if errors:
        raise ValidationError(errors)
    return decision == "accept", reason
