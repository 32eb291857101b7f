"""De-identifying a clinic's data for research (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

Pure: plain rows in, plain rows out, no database. What it does:

- Identifiers: nothing of the 18 Safe Harbor kinds is copied. No names, contact details,
  addresses, record or account numbers, device or network identifiers, and no free text at
  all (an end reason is written as its status code, never as words). Trellis's own ids are
  replaced by pseudonyms drawn at random for each export (`P-`/`E-` and 10 random
  characters), so two exports cannot be linked to each other or back to Trellis.
- Dates: every date and time of one patient is moved by the same random number of days
  (between 1 and `max_shift_days`, earlier or later), so intervals within a patient are
  kept and calendar dates are not.
- Ages: an age or age band above 89 is written as "90+".
- k-anonymity: each combination of the quasi-identifiers (program, level of support, how
  the enrollment ended, age band, sex) must describe at least `k` patients; otherwise the
  export is refused, naming the combinations that are too rare.
"""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

QUASI_IDENTIFIERS = ("program", "support_level", "status", "age_band", "sex")
PSEUDONYM_ALPHABET = string.ascii_uppercase + string.digits
PSEUDONYM_LENGTH = 10
OLDEST_AGE_SHOWN = 89


@dataclass(frozen=True)
class EnrollmentIn:
    enrollment: Hashable  # any id; never copied to the output
    patient: Hashable
    program: str
    support_level: str
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    age_band: str = ""
    sex: str = ""


@dataclass(frozen=True)
class ScoreIn:
    enrollment: Hashable
    instrument: str
    total: int | None
    band: str
    submitted_at: datetime


@dataclass(frozen=True)
class EventIn:
    enrollment: Hashable
    occurred_at: datetime
    type: str
    step_kind: str
    duration_s: int | None


@dataclass(frozen=True)
class MoodIn:
    enrollment: Hashable
    score: int
    recorded_at: datetime


@dataclass(frozen=True)
class Source:
    enrollments: Sequence[EnrollmentIn]
    scores: Sequence[ScoreIn] = ()
    events: Sequence[EventIn] = ()
    moods: Sequence[MoodIn] = ()


@dataclass(frozen=True)
class RareGroup:
    """A combination of quasi-identifiers that describes fewer than k patients."""

    values: dict[str, str]
    patients: int

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v or '(none)'}" for k, v in self.values.items())
        return f"{shown}: {self.patients}"


class TooRare(ValueError):
    """The export would describe a group of fewer than k patients."""

    def __init__(self, k: int, groups: list[RareGroup]) -> None:
        super().__init__(f"{len(groups)} groups describe fewer than {k} patients")
        self.k = k
        self.groups = groups


@dataclass
class Deidentified:
    """The four tables as rows of plain values, ready to be written."""

    enrollments: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    moods: list[dict[str, Any]] = field(default_factory=list)
    patients: int = 0

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "enrollments": self.enrollments,
            "scores": self.scores,
            "events": self.events,
            "moods": self.moods,
        }


COLUMNS: dict[str, tuple[str, ...]] = {
    "enrollments": (
        "patient",
        "enrollment",
        "program",
        "support_level",
        "status",
        "started_on",
        "ended_on",
        "age_band",
        "sex",
    ),
    "scores": ("enrollment", "instrument", "total", "band", "submitted_on"),
    "events": ("enrollment", "occurred_at", "type", "step_kind", "duration_s"),
    "moods": ("enrollment", "score", "recorded_at"),
}

_AGE_NUMBER = re.compile(r"\d+")


def age_group(value: str) -> str:
    """An age or age band as exported: "90+" for anything above 89, else unchanged.

    "93" -> "90+", "90-94" -> "90+", "85-89" -> "85-89", "95+" -> "90+", "" -> "".
    """
    value = (value or "").strip()
    numbers = [int(n) for n in _AGE_NUMBER.findall(value)]
    if numbers and min(numbers) > OLDEST_AGE_SHOWN:
        return "90+"
    if numbers and max(numbers) > OLDEST_AGE_SHOWN:
        # A band that straddles 90 (e.g. "85-94") would still name ages above 89.
        return "85+" if min(numbers) >= 85 else f"{min(numbers)}+"
    return value


def _pseudonyms(keys: Iterable[Hashable], prefix: str, rng: random.Random) -> dict[Any, str]:
    """A fresh random pseudonym for each key; none repeats, none derives from the key."""
    found: dict[Any, str] = {}
    used: set[str] = set()
    for key in keys:
        while True:
            name = prefix + "".join(rng.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))
            if name not in used:
                break
        used.add(name)
        found[key] = name
    return found


def shift_days(rng: random.Random, max_shift_days: int) -> int:
    """A nonzero whole number of days, earlier or later, at most `max_shift_days`."""
    return rng.randint(1, max_shift_days) * rng.choice((-1, 1))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment


def _day(moment: datetime | None, offset: timedelta) -> str | None:
    return None if moment is None else (_utc(moment) + offset).date().isoformat()


def _instant(moment: datetime, offset: timedelta) -> str:
    return (_utc(moment) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


def rare_groups(rows: Sequence[dict[str, Any]], k: int) -> list[RareGroup]:
    """The quasi-identifier combinations among these enrollment rows held by fewer than `k`
    distinct patients, rarest first."""
    patients: dict[tuple[str, ...], set[Any]] = defaultdict(set)
    for row in rows:
        patients[tuple(str(row.get(q) or "") for q in QUASI_IDENTIFIERS)].add(row["patient"])
    return sorted(
        (
            RareGroup(dict(zip(QUASI_IDENTIFIERS, combo, strict=True)), len(people))
            for combo, people in patients.items()
            if len(people) < k
        ),
        key=lambda g: (g.patients, tuple(g.values.values())),
    )


def _by_enrollment_then(column: str) -> Callable[[dict[str, Any]], tuple[str, str]]:
    return lambda row: (row["enrollment"], row[column] or "")


def deidentify(
    source: Source, *, k: int, rng: random.Random | None = None, max_shift_days: int = 182
) -> Deidentified:
    """The source's four tables with identifiers removed, dates shifted per patient and ages
    grouped; raises TooRare when a quasi-identifier combination holds fewer than `k`."""
    if k < 1:
        raise ValueError("k is at least 1")
    rng = rng or random.SystemRandom()
    enrollments = list(source.enrollments)
    rng.shuffle(enrollments)  # pseudonyms must not follow the source's order
    patient_names = _pseudonyms(dict.fromkeys(e.patient for e in enrollments), "P-", rng)
    enrollment_names = _pseudonyms([e.enrollment for e in enrollments], "E-", rng)
    offsets = {
        patient: timedelta(days=shift_days(rng, max_shift_days)) for patient in patient_names
    }
    offset_of = {e.enrollment: offsets[e.patient] for e in enrollments}

    out = Deidentified(patients=len(patient_names))
    for e in enrollments:
        offset = offsets[e.patient]
        out.enrollments.append(
            {
                "patient": patient_names[e.patient],
                "enrollment": enrollment_names[e.enrollment],
                "program": e.program,
                "support_level": e.support_level,
                "status": e.status,
                "started_on": _day(e.started_at, offset),
                "ended_on": _day(e.ended_at, offset),
                "age_band": age_group(e.age_band),
                "sex": e.sex,
            }
        )
    rare = rare_groups(out.enrollments, k)
    if rare:
        raise TooRare(k, rare)
    for s in source.scores:
        if s.enrollment in offset_of:
            out.scores.append(
                {
                    "enrollment": enrollment_names[s.enrollment],
                    "instrument": s.instrument,
                    "total": s.total,
                    "band": s.band,
                    "submitted_on": _day(s.submitted_at, offset_of[s.enrollment]),
                }
            )
    for ev in source.events:
        if ev.enrollment in offset_of:
            out.events.append(
                {
                    "enrollment": enrollment_names[ev.enrollment],
                    "occurred_at": _instant(ev.occurred_at, offset_of[ev.enrollment]),
                    "type": ev.type,
                    "step_kind": ev.step_kind,
                    "duration_s": ev.duration_s,
                }
            )
    for m in source.moods:
        if m.enrollment in offset_of:
            out.moods.append(
                {
                    "enrollment": enrollment_names[m.enrollment],
                    "score": m.score,
                    "recorded_at": _instant(m.recorded_at, offset_of[m.enrollment]),
                }
            )
    out.enrollments.sort(key=lambda r: (r["patient"], r["enrollment"]))
    for rows, when in (
        (out.scores, "submitted_on"),
        (out.events, "occurred_at"),
        (out.moods, "recorded_at"),
    ):
        rows.sort(key=_by_enrollment_then(when))
    return out
