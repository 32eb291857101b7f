"""How a clinic's reminders fare: per channel and per template, over the last 7 and 30 days,
how many are queued, sent, delivered, failed, not sent (by reason) and opened.

One aggregate query reads both windows (grouped by channel, template, status and reason,
with the 7-day and opened counts as filtered aggregates over the 30-day rows), so the page
costs the same for ten deliveries or ten million. Counts only: no person is named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q

from trellis.accounts.models import Organization
from trellis.nudges.models import Channel, Delivery, DeliveryStatus
from trellis.nudges.wording import reason_words, template_words

WINDOWS = (7, 30)


@dataclass
class Counts:
    """What happened to the deliveries queued in one window. `sent` counts everything handed
    over (delivered ones too); `delivered` only those known to have arrived (a provider's
    receipt, an in-app notification): e-mail has no receipt, so it stays at sent."""

    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    opened: int = 0
    suppressed_by_reason: dict[str, int] = field(default_factory=dict)
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.failed + self.suppressed

    @property
    def failure_rate(self) -> float | None:
        """Failed out of those that were tried to the end (sent or failed)."""
        tried = self.sent + self.failed
        return self.failed / tried if tried else None

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def top_reasons(self) -> list[tuple[str, int]]:
        """Why not sent, in plain words, the most frequent first."""
        return _worded(self.suppressed_by_reason)

    @property
    def failure_reasons(self) -> list[tuple[str, int]]:
        return _worded(self.failed_by_reason)

    def add(self, status: str, reason: str, n: int, opened: int) -> None:
        if status == DeliveryStatus.QUEUED:
            self.queued += n
        elif status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
            self.sent += n
            if status == DeliveryStatus.DELIVERED:
                self.delivered += n
        elif status == DeliveryStatus.FAILED:
            self.failed += n
            self.failed_by_reason[reason] = self.failed_by_reason.get(reason, 0) + n
        elif status == DeliveryStatus.SUPPRESSED:
            self.suppressed += n
            self.suppressed_by_reason[reason] = self.suppressed_by_reason.get(reason, 0) + n
        self.opened += opened


def _worded(by_reason: dict[str, int]) -> list[tuple[str, int]]:
    merged: dict[str, int] = defaultdict(int)
    for reason, n in by_reason.items():
        merged[reason_words(reason) or "—"] += n
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Line:
    """One row of a table: a channel or a template, with its counts in each window."""

    key: str
    words: str
    windows: dict[int, Counts] = field(default_factory=lambda: {d: Counts() for d in WINDOWS})


@dataclass
class ReasonLine:
    """How often one reason stopped or failed a delivery, in each window."""

    status: str
    words: str
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))


@dataclass
class DeliveryRates:
    """The clinic's delivery and failure rates, ready for a page."""

    since: dict[int, datetime]
    totals: dict[int, Counts]
    channels: list[Line]
    templates: list[Line]
    reasons: list[ReasonLine]


def _lines(by_key: dict[str, Line], order: Sequence[str] = ()) -> list[Line]:
    """Lines in a known order (the channels), or the busiest first (the templates)."""
    if order:
        known = [by_key[k] for k in order if k in by_key]
        return known + [line for k, line in by_key.items() if k not in order]
    days = max(WINDOWS)
    return sorted(by_key.values(), key=lambda line: (-line.windows[days].total, line.words))


def delivery_rates(organization: Organization, *, now: datetime) -> DeliveryRates:
    """Per channel and per template, over the last 7 and 30 days (by when each delivery was
    queued or decided): queued, sent, delivered, failed, not sent by reason, opened."""
    since = {days: now - timedelta(days=days) for days in WINDOWS}
    short, long = min(WINDOWS), max(WINDOWS)
    rows = (
        Delivery.objects.filter(
            organization=organization, created_at__gte=since[long], created_at__lte=now
        )
        .values("channel", "template", "status", "reason")
        .annotate(
            n_long=Count("id"),
            n_short=Count("id", filter=Q(created_at__gte=since[short])),
            opened_long=Count("id", filter=Q(opened_at__isnull=False)),
            opened_short=Count(
                "id", filter=Q(opened_at__isnull=False, created_at__gte=since[short])
            ),
        )
        .order_by()
    )
    totals = {days: Counts() for days in WINDOWS}
    channels: dict[str, Line] = {}
    templates: dict[str, Line] = {}
    reasons: dict[tuple[str, str], ReasonLine] = {}
    channel_words = dict(Channel.choices)
    for row in rows:
        channel, template, status = row["channel"], row["template"], row["status"]
        reason = row["reason"] or ""
        channel_line = channels.setdefault(
            channel, Line(channel, str(channel_words.get(channel, channel)))
        )
        template_line = templates.setdefault(template, Line(template, template_words(template)))
        for days, n, opened in (
            (short, row["n_short"], row["opened_short"]),
            (long, row["n_long"], row["opened_long"]),
        ):
            if not n:
                continue
            for counts in (totals[days], channel_line.windows[days], template_line.windows[days]):
                counts.add(status, reason, n, opened)
            if status in (DeliveryStatus.SUPPRESSED, DeliveryStatus.FAILED):
                words = reason_words(reason) or "—"
                line = reasons.setdefault((status, words), ReasonLine(status, words))
                line.counts[days] += n
    return DeliveryRates(
        since=since,
        totals=totals,
        channels=_lines(channels, Channel.values),
        templates=_lines(templates),
        reasons=sorted(
            reasons.values(), key=lambda r: (r.status != "failed", -r.counts[long], r.words)
        ),
    )
