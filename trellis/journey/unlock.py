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
    return _("Opens on %(date)s") % {"date": date_format(moment.astimezone(tz), "j F")}


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
    verdicts: dict[str, Verdict] = {}
    previous: StepRule | None = None
    for step in steps:
        verdicts[step.key] = _verdict(
            step, previous, titles, completed, started, chapter_started, scores, now, tz
        )
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
