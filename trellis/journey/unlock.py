"""When each step of a program opens: the unlock rules of docs/content-format.md, with no database.

Given the steps in program order, what the patient has finished, when they opened each
chapter, their latest questionnaire scores and the time now, `evaluate` says for every
step whether it is completed, started, available or locked, and for a locked step gives
the reason in words a patient understands ("Opens after you finish 'Slow breathing'").

Rules (a step with no rule waits for the step before it):
- `{after: previous}`                 the step before it (in the whole program) is completed
- `{after: STEP-KEY}`                 that step is completed
- `{days_after_chapter_start: N}`     the step before it is completed, and N calendar days
                                      (in the patient's time zone) have passed since the
                                      patient opened the chapter's first step
- `{score: {instrument: X, at_least: T}}` or `{..., below: T}`
                                      the step before it is completed, and the latest score
                                      on X meets the threshold

Chapters are paced as well: no step of a chapter opens before every step of the chapter
before it is completed, and, where the chapter declares `min_days: N`, before N calendar
days (in the patient's time zone) have passed since the patient opened the chapter before
it. A step waiting for its chapter says so: "Chapter 3 opens on Thursday".

The first step of the program is always open. A completed or started step keeps its status
whatever the rule says now: progress once made is never taken away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.utils.formats import date_format
from django.utils.translation import gettext as _

Status = Literal["locked", "available", "started", "completed"]
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class StepRule:
    """What the unlock logic needs to know about one step."""

    key: str
    chapter_key: str
    title: str
    unlock: Mapping[str, Any] = field(default_factory=dict)
    chapter_number: int = 1
    chapter_title: str = ""
    chapter_min_days: int = 0  # days after the previous chapter opened


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str = ""  # for a locked step: when it opens, in plain words
    opens_at: datetime | None = None  # for a time rule whose date is known


def _opens_on(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    days = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 1:
        return _("Opens tomorrow")
    if days < 7:
        return _("Opens on %(weekday)s") % {"weekday": date_format(moment.astimezone(tz), "l")}
    return _("Opens on %(date)s") % {"date": date_format(moment.astimezone(tz), "MONTH_DAY_FORMAT")}


def chapter_opens_on(number: int, moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """ "Chapter 3 opens on Thursday", for a chapter whose pacing holds it until `moment`."""
    local = moment.astimezone(tz)
    days = (local.date() - now.astimezone(tz).date()).days
    if days <= 0:
        return _("Chapter %(n)s opens today") % {"n": number}
    if days == 1:
        return _("Chapter %(n)s opens tomorrow") % {"n": number}
    if days < 7:
        return _("Chapter %(n)s opens on %(weekday)s") % {
            "n": number,
            "weekday": date_format(local, "l"),
        }
    return _("Chapter %(n)s opens on %(date)s") % {
        "n": number,
        "date": date_format(local, "MONTH_DAY_FORMAT"),
    }


@dataclass(frozen=True)
class ChapterGate:
    """Whether a chapter may open yet: the chapter before it finished, its days passed."""

    open: bool
    reason: str = ""
    opens_at: datetime | None = None


def chapter_gates(
    steps: Sequence[StepRule],
    *,
    completed: Mapping[str, datetime],
    chapter_started: Mapping[str, datetime],
    now: datetime,
    tz: ZoneInfo = UTC,
) -> dict[str, ChapterGate]:
    """Each chapter's gate, by chapter key: the first chapter is always open; a later one
    opens once every step of the chapter before it is completed and its `min_days` have
    passed since the chapter before it was opened."""
    order: list[str] = []
    members: dict[str, list[StepRule]] = {}
    for step in steps:
        if step.chapter_key not in members:
            order.append(step.chapter_key)
            members[step.chapter_key] = []
        members[step.chapter_key].append(step)
    gates: dict[str, ChapterGate] = {}
    for index, key in enumerate(order):
        if index == 0:
            gates[key] = ChapterGate(True)
            continue
        before = order[index - 1]
        first = members[key][0]
        previous_title = members[before][0].chapter_title or before
        if not all(s.key in completed for s in members[before]):
            gates[key] = ChapterGate(
                False,
                _("Chapter %(n)s opens when you finish '%(title)s'")
                % {"n": first.chapter_number, "title": previous_title},
            )
            continue
        begun = chapter_started.get(before)
        if first.chapter_min_days and begun is not None:
            local_day = begun.astimezone(tz).date() + timedelta(days=first.chapter_min_days)
            opens_at = datetime.combine(local_day, time(0), tzinfo=tz)
            if now < opens_at:
                gates[key] = ChapterGate(
                    False, chapter_opens_on(first.chapter_number, opens_at, now, tz), opens_at
                )
                continue
        gates[key] = ChapterGate(True)
    return gates


def evaluate(
    steps: Sequence[StepRule],
    *,
    completed: Mapping[str, datetime],
    started: Set[str] = frozenset(),
    chapter_started: Mapping[str, datetime] | None = None,
    scores: Mapping[str, float] | None = None,
    now: datetime,
    tz: ZoneInfo = UTC,
) -> dict[str, Verdict]:
    """Each step's status, by key, in program order."""
    chapter_started = chapter_started or {}
    scores = scores or {}
    titles = {s.key: s.title for s in steps}
    gates = chapter_gates(
        steps, completed=completed, chapter_started=chapter_started, now=now, tz=tz
    )
    verdicts: dict[str, Verdict] = {}
    previous: StepRule | None = None
    for step in steps:
        verdict = _verdict(
            step, previous, titles, completed, started, chapter_started, scores, now, tz
        )
        gate = gates[step.chapter_key]
        if verdict.status in ("available", "locked") and not gate.open:
            verdict = Verdict("locked", gate.reason, gate.opens_at)
        verdicts[step.key] = verdict
        previous = step
    return verdicts


def _verdict(
    step: StepRule,
    previous: StepRule | None,
    titles: Mapping[str, str],
    completed: Mapping[str, datetime],
    started: Set[str],
    chapter_started: Mapping[str, datetime],
    scores: Mapping[str, float],
    now: datetime,
    tz: ZoneInfo,
) -> Verdict:
    if step.key in completed:
        return Verdict("completed")
    if step.key in started:
        return Verdict("started")
    if previous is None:
        return Verdict("available")
    rule = dict(step.unlock or {})
    after = rule.get("after", "previous")
    waits_for = previous.key if after == "previous" else str(after)
    if waits_for not in completed:
        title = titles.get(waits_for, waits_for)
        return Verdict("locked", _("Opens after you finish '%(title)s'") % {"title": title})
    if "days_after_chapter_start" in rule:
        days = int(rule["days_after_chapter_start"])
        begun = chapter_started.get(step.chapter_key)
        if begun is None:
            return Verdict(
                "locked",
                _("Opens %(days)s days after you start this chapter") % {"days": days},
            )
        local_day = begun.astimezone(tz).date() + timedelta(days=days)
        opens_at = datetime.combine(local_day, time(0), tzinfo=tz)
        if now < opens_at:
            return Verdict("locked", _opens_on(opens_at, now, tz), opens_at)
    if "score" in rule:
        condition = rule["score"] or {}
        latest = scores.get(str(condition.get("instrument", "")))
        if latest is None or not _meets(latest, condition):
            return Verdict("locked", _("Opens when your weekly check-in suggests it"))
    return Verdict("available")


def _meets(score: float, condition: Mapping[str, Any]) -> bool:
    if "at_least" in condition and score < float(condition["at_least"]):
        return False
    return not ("below" in condition and score >= float(condition["below"]))
