"""Writing the engagement event log: `emit` is the only code that creates an EngagementEvent.

Every patient action writes exactly one event, inside the transaction of the action that
caused it, so a rolled-back action leaves no event behind. Events are never changed or
deleted; the types and their fields are described in docs/events.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, Unpack

from trellis.core import timeutil
from trellis.core.rows import Inserts, insert_row
from trellis.engagement.models import EngagementEvent, EventType

if TYPE_CHECKING:
    from trellis.care.models import Enrollment
    from trellis.programs.models import Step

MAX_VALUE = 64


def step_kind(step: Step) -> str:
    """The kind shown in the event log: the exercise kind for exercises, else the step kind."""
    return step.exercise or step.kind if step.kind == "exercise" else step.kind


class More(TypedDict, total=False):
    """What an event may say beside its type and time."""

    step: Step | None
    duration_s: int | None
    value: str


def emit(
    enrollment: Enrollment, type: str, *, at: datetime, **more: Unpack[More]
) -> EngagementEvent:
    """Append one event to the enrollment's log."""
    event = _event(enrollment, type, at=at, **more)
    insert_row(event)  # every patient write adds one: the INSERT without the ORM's building
    return event


def emit_with(
    together: Inserts,
    enrollment: Enrollment,
    type: str,
    *,
    at: datetime,
    **more: Unpack[More],
) -> EngagementEvent:
    """`emit`, for an action whose rows are written together (`core.rows.Inserts`, or
    `ClaimedInserts` after an idempotency claim): the event goes with them, in the same
    statement on PostgreSQL, or not at all."""
    event = _event(enrollment, type, at=at, **more)
    together.add(event)
    return event


def _event(
    enrollment: Enrollment,
    type: str,
    *,
    at: datetime,
    step: Step | None = None,
    duration_s: int | None = None,
    value: str = "",
) -> EngagementEvent:
    if type not in EventType.values:
        raise ValueError(f"unknown engagement event type {type!r}")
    timeutil.ensure_aware(at)
    if duration_s is not None and duration_s < 0:
        raise ValueError("an event's duration cannot be negative")
    return EngagementEvent(
        enrollment=enrollment,
        occurred_at=at,
        type=type,
        step_kind=step_kind(step) if step is not None else "",
        step_key=step.key if step is not None else "",
        duration_s=duration_s,
        value=str(value)[:MAX_VALUE],
    )
