"""The eight exercise kinds: their settings, what a patient's answer may hold, and a summary.

Pure logic with no database. The pack checker calls `validate_settings` on each exercise
step; the journey services call `validate_response` before storing a completed exercise
and `summary` for the value written to the engagement event log.

Answers arrive from a plain HTML form (strings) or from the JSON API (numbers and
booleans); both are accepted and cleaned into the same shape. Fields an exercise does not
know are dropped, so a form's extra fields never reach the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.programs.instruments import all_instruments

MAX_TEXT = 5_000  # characters in one free-text field
MAX_SHORT_TEXT = 200  # an activity name, a suggestion
MAX_LIST = 20  # worries noted in one sitting, suggestions in one step
MINUTES_IN_DAY = 24 * 60
MAX_HOURS_IN_BED = 18

SENSES = ("see", "touch", "hear", "smell", "taste")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# Instrument codes a questionnaire step or a score unlock rule may name. The measures
# issue brings the instruments themselves; until then the checker knows these codes.
# The instruments Trellis ships (see REFERENCES); a clinic's own instruments join this list
# when the measures module loads them, so a pack can never name one that cannot be shown.
INSTRUMENTS = frozenset({"PHQ-9", "PHQ-2", "GAD-7", "GAD-2", "eHEALS"})


def known_instruments() -> set[str]:
    """Instrument codes a pack may refer to: every installed questionnaire (the shipped ones
    and the clinic's own, see trellis.programs.instruments)."""

    return set(all_instruments())


# Settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class IntSetting:
    """A whole-number option with its documented range."""

    default: int
    low: int
    high: int
    unit: str = ""


@dataclass(frozen=True)
class TextSetting:
    default: str = ""
    max_length: int = 1_000


@dataclass(frozen=True)
class TextListSetting:
    default: tuple[str, ...] = ()
    max_items: int = MAX_LIST
    max_length: int = MAX_SHORT_TEXT


@dataclass(frozen=True)
class CountsSetting:
    """The grounding counts: one whole number per sense, in the order see..taste."""

    default: tuple[int, ...] = (5, 4, 3, 2, 1)
    low: int = 1
    high: int = 10


Setting = IntSetting | TextSetting | TextListSetting | CountsSetting


def _setting_problems(name: str, spec: Setting, value: Any) -> list[str]:
    if isinstance(spec, IntSetting):
        if not _is_int(value):
            return [f"setting '{name}' must be a whole number"]
        if not spec.low <= value <= spec.high:
            unit = f" {spec.unit}" if spec.unit else ""
            return [f"setting '{name}' is {value}; it must be from {spec.low} to {spec.high}{unit}"]
        return []
    if isinstance(spec, TextSetting):
        if not isinstance(value, str):
            return [f"setting '{name}' must be text"]
        if len(value) > spec.max_length:
            return [f"setting '{name}' is longer than {spec.max_length} characters"]
        return []
    if isinstance(spec, TextListSetting):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return [f"setting '{name}' must be a list of texts"]
        if len(value) > spec.max_items:
            return [f"setting '{name}' has {len(value)} items; at most {spec.max_items}"]
        if any(not v.strip() or len(v) > spec.max_length for v in value):
            return [f"every item of '{name}' must be 1 to {spec.max_length} characters"]
        return []
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        return [f"setting '{name}' must be a list of {len(SENSES)} whole numbers"]
    if len(value) != len(SENSES):
        return [f"setting '{name}' must have {len(SENSES)} numbers (one per sense)"]
    if any(not spec.low <= v <= spec.high for v in value):
        return [f"every number in '{name}' must be from {spec.low} to {spec.high}"]
    return []


def _default_of(spec: Setting) -> Any:
    if isinstance(spec, TextListSetting | CountsSetting):
        return list(spec.default)
    return spec.default


# Response cleaning helpers --------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Errors:
    """Collects one plain message per field, so the patient sees every problem at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(dict(self.by_field))


def _text(
    data: Mapping[str, Any],
    name: str,
    errors: _Errors,
    *,
    required: bool,
    max_length: int = MAX_TEXT,
) -> str:
    raw = data.get(name)
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors.add(name, _("Please write this as text."))
        return ""
    value = raw.strip()
    if required and not value:
        errors.add(name, _("Please fill this in."))
    elif len(value) > max_length:
        errors.add(
            name,
            _("Please keep this to %(max)s characters (it has %(n)s).")
            % {"max": f"{max_length:,}", "n": f"{len(value):,}"},
        )
    return value


def _number(
    data: Mapping[str, Any],
    name: str,
    errors: _Errors,
    *,
    low: int,
    high: int,
    required: bool,
) -> int | None:
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.add(name, _("Please fill this in."))
        return None
    value: int | None = None
    whole_float = isinstance(raw, float) and raw.is_integer()
    digits = isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", raw)
    if _is_int(raw):
        value = raw
    elif whole_float or digits:
        value = int(raw)
    if value is None:
        errors.add(name, _("Please enter a whole number."))
        return None
    if not low <= value <= high:
        errors.add(
            name, _("Please enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        )
        return None
    return value


def _clock_time(
    data: Mapping[str, Any], name: str, errors: _Errors, *, required: bool = True
) -> str | None:
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.add(name, _("Please enter a time."))
        return None
    if not isinstance(raw, str) or not _HHMM.match(raw.strip()):
        errors.add(name, _("Please enter a time as hours and minutes, for example 22:30."))
        return None
    return raw.strip()


def _flag(data: Mapping[str, Any], name: str, errors: _Errors) -> bool:
    raw = data.get(name, False)
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    if isinstance(raw, str) and raw.strip().lower() in {"", "0", "false", "off", "no"}:
        return False
    if isinstance(raw, str) and raw.strip().lower() in {"1", "true", "on", "yes"}:
        return True
    errors.add(name, _("Please answer yes or no."))
    return False


def minutes_of_day(hhmm: str) -> int:
    """Minutes since midnight for a clock time written HH:MM."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def time_in_bed_minutes(bed_time: str, rise_time: str) -> int:
    """Minutes from bed time to rise time; a rise time earlier in the clock is the next day.

    Going to bed at 23:15 and rising at 06:45 is 450 minutes; going to bed at 01:00 and
    rising at 08:00 is 420. The same time twice is 0 (the diary refuses it).
    """
    return (minutes_of_day(rise_time) - minutes_of_day(bed_time)) % MINUTES_IN_DAY


def sleep_efficiency(time_in_bed: int, time_asleep: int) -> float:
    """Time asleep as a percentage of time in bed, to one decimal place."""
    if time_in_bed <= 0:
        raise ValueError("time in bed must be positive")
    asleep = min(max(time_asleep, 0), time_in_bed)
    return round(asleep * 100 / time_in_bed, 1)


# The kinds ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseKind:
    """One kind of interactive exercise: its options, what it stores, and its event summary."""

    name: str
    label: Any  # a lazy translation
    settings_spec: Mapping[str, Setting]
    clean: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]
    summarize: Callable[[Mapping[str, Any]], str]
    encrypted_fields: tuple[str, ...] = field(default=())

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: _default_of(spec) for name, spec in self.settings_spec.items()}

    def setting_problems(self, settings: Any) -> list[tuple[str | None, str]]:
        """Each problem with the setting it is about (None for the settings as a whole)."""
        if settings is None:
            return []
        if not isinstance(settings, Mapping):
            return [(None, "settings must be a mapping of option names to values")]
        problems: list[tuple[str | None, str]] = []
        for name, value in settings.items():
            spec = self.settings_spec.get(name)
            if spec is None:
                known = ", ".join(sorted(self.settings_spec)) or "none"
                problems.append(
                    (name, f"unknown setting '{name}' for {self.name} (known settings: {known})")
                )
                continue
            problems.extend((name, message) for message in _setting_problems(name, spec, value))
        return problems

    def validate_settings(self, settings: Any) -> list[str]:
        """Problems with a step's settings, in plain words; empty when they are fine."""
        return [message for _name, message in self.setting_problems(settings)]

    def resolved_settings(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """The defaults overlaid with a step's own settings."""
        return {**self.defaults, **dict(settings or {})}

    def validate_response(self, data: Mapping[str, Any], settings: Mapping[str, Any]) -> dict:
        """The cleaned answer, or ValidationError({field: message}) naming every bad field."""
        if not isinstance(data, Mapping):
            raise ValidationError({"response": _("The answer was not in the expected form.")})
        return self.clean(data, self.resolved_settings(settings))

    def summary(self, response: Mapping[str, Any]) -> str:
        """A short value for the engagement event log (never free text)."""
        return self.summarize(response)[:64]


def _clean_breathing(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    minutes = _number(data, "minutes", errors, low=1, high=10, required=False)
    breaths = _number(data, "breaths", errors, low=0, high=600, required=False)
    errors.raise_if_any()
    return {
        "minutes": minutes if minutes is not None else settings["duration_minutes"],
        "breaths": breaths if breaths is not None else 0,
    }


def _clean_grounding(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    notes = {sense: _text(data, sense, errors, required=False) for sense in SENSES}
    errors.raise_if_any()
    return notes


def _clean_journaling(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    text = _text(data, "text", errors, required=True)
    words = len(text.split())
    minimum = settings.get("min_words", 0)
    if text and words < minimum:
        errors.add(
            "text",
            _("Please write at least %(min)s words (you have %(n)s so far).")
            % {"min": minimum, "n": words},
        )
    errors.raise_if_any()
    return {"text": text}


def _clean_thought_record(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {
        "situation": _text(data, "situation", errors, required=True),
        "automatic_thought": _text(data, "automatic_thought", errors, required=True),
        "emotion": _text(data, "emotion", errors, required=True, max_length=MAX_SHORT_TEXT),
        "intensity_before": _number(
            data, "intensity_before", errors, low=0, high=100, required=True
        ),
        "evidence_for": _text(data, "evidence_for", errors, required=False),
        "evidence_against": _text(data, "evidence_against", errors, required=False),
        "balanced_thought": _text(data, "balanced_thought", errors, required=True),
        "intensity_after": _number(data, "intensity_after", errors, low=0, high=100, required=True),
    }
    errors.raise_if_any()
    return cleaned


def _clean_activation(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    activity = _text(data, "activity", errors, required=True, max_length=MAX_SHORT_TEXT)
    planned_date = data.get("planned_date")
    if planned_date is None or (isinstance(planned_date, str) and not planned_date.strip()):
        errors.add("planned_date", _("Please choose a day."))
        planned_date = None
    else:
        try:
            planned_date = date.fromisoformat(str(planned_date).strip()).isoformat()
        except ValueError:
            errors.add("planned_date", _("Please enter a day as year-month-day, e.g. 2025-03-14."))
            planned_date = None
    planned_time = _clock_time(data, "planned_time", errors)
    done = _flag(data, "done", errors)
    mood = _number(data, "mood", errors, low=0, high=10, required=False)
    mastery = _number(data, "mastery", errors, low=0, high=10, required=False)
    if not done:
        for name, value in (("mood", mood), ("mastery", mastery)):
            if value is not None:
                errors.add(name, _("Rate this after you have done the activity."))
    errors.raise_if_any()
    return {
        "activity": activity,
        "planned_date": planned_date,
        "planned_time": planned_time,
        "done": done,
        "mood": mood,
        "mastery": mastery,
    }


def _clean_worry_time(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    raw = data.get("worries")
    if isinstance(raw, str):
        raw = [line for line in raw.splitlines() if line.strip()]
    worries: list[str] = []
    if not isinstance(raw, list) or not all(isinstance(w, str) for w in raw):
        errors.add("worries", _("Please write each worry as text."))
    else:
        worries = [w.strip() for w in raw if w.strip()]
        if not worries:
            errors.add("worries", _("Please note at least one worry."))
        elif len(worries) > MAX_LIST:
            errors.add("worries", _("Please note at most %(max)s worries.") % {"max": MAX_LIST})
        elif sum(len(w) for w in worries) > MAX_TEXT:
            errors.add(
                "worries",
                _("Please keep your worries to %(max)s characters in all.")
                % {"max": f"{MAX_TEXT:,}"},
            )
    worry_time = _clock_time(data, "worry_time", errors)
    errors.raise_if_any()
    return {
        "worries": worries,
        "worry_time": worry_time,
        "worry_minutes": settings["worry_minutes"],
    }


def _clean_mindfulness(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    minutes = _number(data, "minutes", errors, low=0, high=60, required=False)
    errors.raise_if_any()
    return {"minutes": minutes if minutes is not None else settings["duration_minutes"]}


def _clean_sleep_diary(data: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    bed_time = _clock_time(data, "bed_time", errors)
    rise_time = _clock_time(data, "rise_time", errors)
    to_sleep = _number(
        data, "minutes_to_fall_asleep", errors, low=0, high=MINUTES_IN_DAY, required=True
    )
    wakings = _number(data, "wakings", errors, low=0, high=50, required=False)
    awake = _number(data, "minutes_awake", errors, low=0, high=MINUTES_IN_DAY, required=False)
    errors.raise_if_any()
    assert bed_time is not None and rise_time is not None and to_sleep is not None
    wakings = wakings or 0
    awake = awake or 0
    in_bed = time_in_bed_minutes(bed_time, rise_time)
    if in_bed == 0:
        errors.add("rise_time", _("Bed time and rise time are the same; please check them."))
    elif in_bed > MAX_HOURS_IN_BED * 60:
        errors.add(
            "rise_time",
            _("That is more than %(h)s hours in bed; please check bed time and rise time.")
            % {"h": MAX_HOURS_IN_BED},
        )
    elif to_sleep > in_bed:
        errors.add(
            "minutes_to_fall_asleep",
            _("That is longer than the %(n)s minutes you were in bed.") % {"n": in_bed},
        )
    elif to_sleep + awake > in_bed:
        errors.add(
            "minutes_awake",
            _("Time to fall asleep and time awake add up to more than the %(n)s minutes in bed.")
            % {"n": in_bed},
        )
    if awake and not wakings:
        errors.add("wakings", _("You noted time awake in the night; how many times did you wake?"))
    errors.raise_if_any()
    asleep = in_bed - to_sleep - awake
    return {
        "bed_time": bed_time,
        "minutes_to_fall_asleep": to_sleep,
        "wakings": wakings,
        "minutes_awake": awake,
        "rise_time": rise_time,
        "time_in_bed_minutes": in_bed,
        "time_asleep_minutes": asleep,
        "sleep_efficiency": sleep_efficiency(in_bed, asleep),
    }


def _count(name: str) -> Callable[[Mapping[str, Any]], str]:
    def summarize(response: Mapping[str, Any]) -> str:
        value = response.get(name)
        return str(len(value) if isinstance(value, list) else value if value is not None else "")

    return summarize


def _grounding_summary(response: Mapping[str, Any]) -> str:
    return str(sum(1 for sense in SENSES if response.get(sense)))


def _journal_summary(response: Mapping[str, Any]) -> str:
    return str(len(str(response.get("text", "")).split()))


def _thought_summary(response: Mapping[str, Any]) -> str:
    before, after = response.get("intensity_before"), response.get("intensity_after")
    if before is None or after is None:
        return ""
    return str(after - before)


def _activation_summary(response: Mapping[str, Any]) -> str:
    return "done" if response.get("done") else "planned"


def _sleep_summary(response: Mapping[str, Any]) -> str:
    value = response.get("sleep_efficiency")
    return "" if value is None else str(round(value))


EXERCISE_KINDS: dict[str, ExerciseKind] = {
    kind.name: kind
    for kind in (
        ExerciseKind(
            name="paced_breathing",
            label=gettext_lazy("Paced breathing"),
            settings_spec={
                "inhale": IntSetting(4, 1, 10, "seconds"),
                "hold": IntSetting(0, 0, 10, "seconds"),
                "exhale": IntSetting(6, 1, 12, "seconds"),
                "duration_minutes": IntSetting(5, 1, 10, "minutes"),
            },
            clean=_clean_breathing,
            summarize=_count("breaths"),
        ),
        ExerciseKind(
            name="grounding",
            label=gettext_lazy("Grounding (5-4-3-2-1)"),
            settings_spec={"counts": CountsSetting()},
            clean=_clean_grounding,
            summarize=_grounding_summary,
            encrypted_fields=SENSES,
        ),
        ExerciseKind(
            name="journaling",
            label=gettext_lazy("Journaling"),
            settings_spec={"prompt": TextSetting(), "min_words": IntSetting(0, 0, 500, "words")},
            clean=_clean_journaling,
            summarize=_journal_summary,
            encrypted_fields=("text",),
        ),
        ExerciseKind(
            name="thought_record",
            label=gettext_lazy("Thought record"),
            settings_spec={},
            clean=_clean_thought_record,
            summarize=_thought_summary,
            encrypted_fields=(
                "situation",
                "automatic_thought",
                "emotion",
                "evidence_for",
                "evidence_against",
                "balanced_thought",
            ),
        ),
        ExerciseKind(
            name="behavioural_activation",
            label=gettext_lazy("Planning an activity"),
            settings_spec={"suggestions": TextListSetting()},
            clean=_clean_activation,
            summarize=_activation_summary,
        ),
        ExerciseKind(
            name="worry_time",
            label=gettext_lazy("Worry time"),
            settings_spec={"worry_minutes": IntSetting(15, 5, 30, "minutes")},
            clean=_clean_worry_time,
            summarize=_count("worries"),
            encrypted_fields=("worries",),
        ),
        ExerciseKind(
            name="mindfulness",
            label=gettext_lazy("Mindfulness"),
            settings_spec={"duration_minutes": IntSetting(5, 1, 15, "minutes")},
            clean=_clean_mindfulness,
            summarize=_count("minutes"),
        ),
        ExerciseKind(
            name="sleep_diary",
            label=gettext_lazy("Sleep diary"),
            settings_spec={},
            clean=_clean_sleep_diary,
            summarize=_sleep_summary,
        ),
    )
}
