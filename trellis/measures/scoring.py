"""Scoring a questionnaire: pure functions, no database.

- `validate_answers` turns what a form or an app sent into whole numbers, with a message
  per item for anything missing or out of range.
- `score` adds up the scored items (reversing reverse-scored ones) and finds the band.
  A missing item is never counted as zero: with at most the instrument's allowed number
  of missing items the total is prorated (scaled up from the answered items and marked
  `prorated`), otherwise there is no total at all.
- `safety_hits` finds answers that fire a safety rule (PHQ-9 item 9 above 0), looking only
  at the safety items, so a hit is found even when the rest of the answers are invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from trellis.programs.instruments import Band, Instrument, Item, SafetyRule


@dataclass(frozen=True)
class Score:
    """The result of scoring one response.

    `total` is None when too many items are missing to give a total; `prorated` says the
    total was scaled up from the answered items; `missing` lists unanswered scored items.
    """

    total: int | None
    prorated: bool
    band: Band | None
    missing: list[str] = field(default_factory=list)
    complete: bool = True


def _as_int(value: Any) -> int | None:
    """A whole number from a form or JSON value, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 6:
            return int(text)
    return None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_item(instrument: Instrument, item: Item, value: Any) -> tuple[int | None, str]:
    """(the chosen value, "") or (None, a message for the patient)."""
    number = _as_int(value)
    allowed = [o.value for o in instrument.options_for(item)]
    if number is None or number not in allowed:
        return None, _("Please choose one of the answers shown.")
    return number, ""


def validate_answers(
    instrument: Instrument, raw: Mapping[str, Any] | Any, *, allow_missing: bool = False
) -> tuple[dict[str, int | None], dict[str, str]]:
    """Clean a response: (answers by item id, errors by item id).

    An answer outside the item's options, an unknown item, or (unless `allow_missing`) an
    unanswered required item is an error. Unanswered optional items are left out.
    """
    if not isinstance(raw, Mapping):
        return {}, {"answers": _("The answers were not in the expected form.")}
    cleaned: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    known = {item.id for item in instrument.items}
    for key in raw:
        if key not in known:
            errors[str(key)] = _("This is not a question of %(title)s.") % {
                "title": instrument.short_title
            }
    for item in instrument.items:
        value = raw.get(item.id)
        if _is_blank(value):
            if item.required and not allow_missing:
                errors[item.id] = _("Please answer this question.")
            elif item.scored:
                cleaned[item.id] = None
            continue
        number, message = _check_item(instrument, item, value)
        if message:
            errors[item.id] = message
        else:
            cleaned[item.id] = number
    return cleaned, errors


def _item_score(instrument: Instrument, item: Item, value: int) -> int:
    if item.id not in instrument.reverse_items:
        return value
    values = [o.value for o in instrument.options_for(item)]
    return min(values) + max(values) - value


def _prorate(points: int, answered: int, of: int) -> int:
    """points * of / answered, rounded half up, in whole numbers (no float surprises)."""
    return (2 * points * of + answered) // (2 * answered)


def score(instrument: Instrument, answers: Mapping[str, int | None]) -> Score:
    """The total, band and prorating of cleaned answers (see `validate_answers`).

    Raises ValueError for a value that is not one of the item's options: scoring never
    guesses.
    """
    points = 0
    answered = 0
    missing: list[str] = []
    scored = instrument.scored_items
    for item in scored:
        value = answers.get(item.id)
        if value is None:
            missing.append(item.id)
            continue
        if value not in [o.value for o in instrument.options_for(item)]:
            raise ValueError(f"{instrument.code} {item.id}: {value!r} is not an allowed answer")
        points += _item_score(instrument, item, value)
        answered += 1
    if not missing:
        return Score(points, False, instrument.band_for(points), [], True)
    if answered and len(missing) <= instrument.prorate_max_missing:
        total = _prorate(points, answered, len(scored))
        total = max(instrument.min_total, min(instrument.max_total, total))
        return Score(total, True, instrument.band_for(total), missing, False)
    return Score(None, False, None, missing, False)


def safety_hits(
    instrument: Instrument, raw: Mapping[str, Any] | Any
) -> list[tuple[SafetyRule, str, int]]:
    """Every safety rule fired by a valid answer in `raw`: (rule, item id, value).

    Only the rule's own item is looked at, so an invalid answer elsewhere never hides it.
    """
    if not isinstance(raw, Mapping):
        return []
    hits: list[tuple[SafetyRule, str, int]] = []
    for rule in instrument.safety_rules:
        item = instrument.item(rule.item)
        if item is None or _is_blank(raw.get(rule.item)):
            continue
        value, message = _check_item(instrument, item, raw.get(rule.item))
        if not message and value is not None and value > rule.above:
            hits.append((rule, item.id, value))
    return hits
