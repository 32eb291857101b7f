"""Checking the audit trail and anchoring its head.

`verify_chain` walks the chain in order and checks, with the audit keys:

- each event's own seal over its content and its link's mac over the previous link's mac
  and that seal (a changed, inserted or removed row, a gap in the positions, or a chain
  recomputed without the key or with another key, fails); events written by versions
  before the sealer, chained as they were written, come first and are checked by their
  seal over the previous event's seal;
- the chain head row against the last link (a missing head with events, a head naming
  an event the table no longer holds, or links past the head, fail);
- the events committed but not yet linked: each must wait in the sealer's queue and carry
  a valid seal of its own (an event that is neither linked nor queued fails);
- every anchor it can read (the anchor file, and any copies or logs it is given): each
  must carry a valid signature, and the chain must hold the anchored event with the
  anchored seal at the anchored count (a cut-off tail, an emptied trail or a rewritten
  chain fail against the anchors even when the head row was rewritten to match);
- events written before the chain was keyed (plain SHA-256, no key id): accepted only as
  one unbroken run from the first event, sealed behind them by a keyed event (whose seal
  covers theirs) or by an anchor at or after the last of them.

`anchor_chain` runs the sealer, checks the chain since the latest anchor the same way and
appends a new signed anchor for the head to the anchor file and the application log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings

from trellis.audit import anchors as anchor_file
from trellis.audit.anchors import Anchor
from trellis.audit.chain import chained_fields, link_hash, same, seal, seal_link, seal_row
from trellis.audit.keyring import AuditKeyError, AuditKeyRing, audit_keyring
from trellis.audit.models import (
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    AuditLink,
    AuditPending,
)
from trellis.audit.sealer import seal_pending
from trellis.core import timeutil

BATCH = 5000
UNKEYED = ""  # the key id of events written before the chain was keyed
CONTENT_CHANGED = (
    "its content no longer matches its seal (the row was changed, or the "
    "chain was recomputed without the audit key or with another key)"
)

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class VerifyResult:
    """How far the trail verified, and if it did not, which event and why."""

    verified: int
    broken_event: int | None = None
    reason: str = ""
    by_key: dict[str, int] = field(default_factory=dict)
    anchors: int = 0
    latest_anchor: Anchor | None = None
    waiting: int = 0  # events not yet linked by the sealer, each checked by its own seal
    oldest_waiting: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class AnchorOutcome:
    """The anchor written (None when there was nothing to anchor or the check failed)."""

    anchor: Anchor | None
    result: VerifyResult
    path: Path


class _Broken(Exception):
    def __init__(self, event: int | None, reason: str) -> None:
        super().__init__(reason)
        self.event = event
        self.reason = reason


def anchor_path() -> Path:
    return Path(settings.TRELLIS_AUDIT_ANCHOR_FILE)


class _Walk:
    """The state of one walk along the chain, from the genesis or from an anchor.

    The chain is the events written before the sealer (chained as they were written, in
    the order of their ids), then the sealer's links in the order of their positions.
    `count` is the position reached.
    """

    def __init__(
        self,
        ring: AuditKeyRing,
        anchors: Iterable[Anchor],
        *,
        after: int = 0,
        prev: str = GENESIS_HASH,
        count: int = 0,
        keyed: bool = False,
        linked: bool = False,
    ) -> None:
        self.ring = ring
        self.last_id = after
        self.last_event_pk = after
        self.last_event_id = ""
        self.prev = prev
        self.start_count = count
        self.count = count
        self.keyed_seen = keyed
        self.in_links = linked
        self.unkeyed_last = 0
        self.by_key: dict[str, int] = {}
        self.pending: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            if anchor.count > count:
                self.pending.setdefault(anchor.event, []).append(anchor)
        self.matched: list[Anchor] = []
        self.waiting = 0
        self.oldest_waiting: datetime | None = None

    @property
    def verified(self) -> int:
        return self.count - self.start_count

    def rows(self, batch_size: int, progress: Progress, *, upto: int | None = None) -> None:
        """Walk on to the end of the chain, or to position `upto`."""
        if not self.in_links:
            self._chained_as_written(batch_size, progress)
            self.in_links = True
        while upto is None or self.count < upto:
            links = AuditLink.objects.filter(position__gt=self.count)
            if upto is not None:
                links = links.filter(position__lte=upto)
            batch = list(links.select_related("event").order_by("position")[:batch_size])
            if not batch:
                return
            for link in batch:
                self.check_link(link)
            if progress is not None:
                progress(self.count)

    def _chained_as_written(self, batch_size: int, progress: Progress) -> None:
        while True:
            events = AuditEvent.objects.filter(id__gt=self.last_id).exclude(prev_hash="")
            batch = list(events.order_by("id")[:batch_size])
            if not batch:
                return
            for event in batch:
                self.check(event)
            if progress is not None:
                progress(self.count)

    def check(self, event: AuditEvent) -> None:
        """An event chained as it was written (by versions before the sealer)."""
        if event.prev_hash != self.prev:
            raise _Broken(
                event.pk,
                "its link to the previous event does not match "
                "(a row before it was changed or removed)",
            )
        if event.key_id == UNKEYED:
            if self.keyed_seen:
                raise _Broken(
                    event.pk,
                    "it carries no key id after keyed events (only events written before "
                    "the chain was keyed may, and those all come first): it was not "
                    "written by Trellis",
                )
            if not same(link_hash(event.prev_hash, chained_fields(event)), event.hash):
                raise _Broken(event.pk, "its content no longer matches its hash")
            self.unkeyed_last = event.pk
        else:
            key = self._key(event.pk, event.key_id)
            expected = seal(event.prev_hash, chained_fields(event), key_id=event.key_id, key=key)
            if not same(expected, event.hash):
                raise _Broken(event.pk, CONTENT_CHANGED)
            self.keyed_seen = True
        self._reached(event, event.hash)
        self.last_id = event.pk

    def check_link(self, link: AuditLink) -> None:
        """An event linked by the sealer: its own seal, then its link to the one before."""
        event = link.event
        if link.position != self.count + 1:
            raise _Broken(
                event.pk,
                f"the chain skips from position {self.count} to {link.position} before it "
                "(a link was removed)",
            )
        if not same(link.prev_mac, self.prev):
            raise _Broken(
                event.pk,
                "its link to the previous event does not match "
                "(a row before it was changed or removed)",
            )
        if event.prev_hash:
            raise _Broken(
                event.pk,
                "it was chained as it was written and linked again by the sealer: it was "
                "not written by Trellis",
            )
        self.check_own_seal(event)
        key = self._key(event.pk, link.key_id)
        expected = seal_link(link.prev_mac, event.pk, event.hash, key_id=link.key_id, key=key)
        if not same(expected, link.mac):
            raise _Broken(
                event.pk,
                "its link in the chain no longer matches (the link was rewritten without "
                "the audit key or with another key)",
            )
        self.keyed_seen = True
        self._reached(event, link.mac)

    def check_own_seal(self, event: AuditEvent) -> None:
        """The seal an event was written with, over its content alone."""
        key = self._key(event.pk, event.key_id)
        if not same(seal_row(chained_fields(event), key_id=event.key_id, key=key), event.hash):
            raise _Broken(event.pk, CONTENT_CHANGED)

    def _key(self, event_pk: int, key_id: str) -> bytes:
        if not key_id or not self.ring.holds(key_id):
            raise _Broken(
                event_pk,
                f"it is sealed with audit key {key_id!r}, which TRELLIS_AUDIT_KEYS "
                "does not hold (a key removed too early, or a row forged under a made-up "
                "key id)",
            )
        return self.ring.key(key_id)

    def _reached(self, event: AuditEvent, mac: str) -> None:
        self.count += 1
        self.by_key[event.key_id] = self.by_key.get(event.key_id, 0) + 1
        for anchor in self.pending.pop(event.pk, []):
            if not (
                same(anchor.mac, mac)
                and anchor.event_id == str(event.event_id)
                and anchor.count == self.count
            ):
                raise _Broken(
                    event.pk,
                    f"it does not match {anchor.where}: the anchor recorded another event, "
                    "seal or count here (the chain up to this event was rewritten)",
                )
            self.matched.append(anchor)
        self.prev = mac
        self.last_event_pk = event.pk
        self.last_event_id = str(event.event_id)

    def check_anchors_reached(self) -> None:
        """Every anchor past the start must have been met along the chain."""
        missing = sorted(
            (a for anchors in self.pending.values() for a in anchors), key=lambda a: a.event
        )
        if not missing:
            return
        furthest = anchor_file.latest(missing)
        assert furthest is not None
        if self.count == 0:
            raise _Broken(
                furthest.event,
                f"the trail is empty, but {len(missing)} anchor(s) say it held events; "
                f"the latest is {furthest.where} (the trail was emptied)",
            )
        first = missing[0]
        raise _Broken(
            first.event,
            f"{first.where} names an event the trail no longer holds "
            f"(it ends at event #{self.last_event_pk}, {self.count} events in: events were "
            "removed from the end)",
        )

    def check_head(self, batch_size: int, progress: Progress) -> None:
        """The chain head row must name the last event in the chain, with its mac.

        Read after the walk: the sealer moves the head in the same transaction as its
        links, so the head is never behind the links already read; links made during the
        walk are read up to the position the head names.
        """
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None:
            if self.count:
                raise _Broken(
                    None,
                    f"the chain head row is missing while the trail holds {self.count} "
                    "events (it was deleted, most likely with events at the end)",
                )
            return
        if head.last_position > self.count:
            self.rows(batch_size, progress, upto=head.last_position)
        if head.last_position < self.count:
            past = (
                AuditLink.objects.filter(position=head.last_position + 1)
                .values_list("event_id", flat=True)
                .first()
            )
            raise _Broken(
                past or self.last_event_pk,
                f"it comes after the event the chain head names (#{head.last_event_id}): "
                "it was not written through Trellis",
            )
        if head.last_position != self.count:
            raise _Broken(
                head.last_event_id,
                "the chain head names a later event than the table holds "
                "(events were removed from the end)",
            )
        if head.last_event_id != self.last_event_pk or not same(head.last_hash, self.prev):
            raise _Broken(
                head.last_event_id,
                "the chain head's seal does not match this event (the head or the "
                "event was rewritten)",
            )

    def check_waiting(self, batch_size: int) -> None:
        """Events not yet linked: each must be waiting for the sealer, with its own seal."""
        after = 0
        while True:
            batch = list(
                AuditPending.objects.filter(event_id__gt=after)
                .select_related("event")
                .order_by("event_id")[:batch_size]
            )
            if not batch:
                break
            for waiting in batch:
                self.check_own_seal(waiting.event)
                self.waiting += 1
                if self.oldest_waiting is None or waiting.queued_at < self.oldest_waiting:
                    self.oldest_waiting = waiting.queued_at
            after = batch[-1].event_id
        lost = (
            AuditEvent.objects.filter(prev_hash="", link__isnull=True, pending__isnull=True)
            .order_by("id")
            .first()
        )
        if lost is not None:
            raise _Broken(
                lost.pk,
                "it is neither linked into the chain nor waiting for the sealer (its place "
                "in the queue was removed, or it was not written through Trellis)",
            )

    def check_unkeyed_sealed(self) -> None:
        """Events from before the chain was keyed need a keyed event or an anchor behind them."""
        if not self.unkeyed_last or self.keyed_seen:
            return
        if any(anchor.event >= self.unkeyed_last for anchor in self.matched):
            return
        raise _Broken(
            self.unkeyed_last,
            "the trail ends in events sealed without a key and neither a keyed event nor an "
            "anchor follows them (after upgrading, run `trellis audit anchor` once)",
        )

    def result(
        self,
        *,
        anchors: int,
        broken: _Broken | None = None,
        latest_anchor: Anchor | None = None,
    ) -> VerifyResult:
        return VerifyResult(
            self.count,
            broken_event=broken.event if broken else None,
            reason=broken.reason if broken else "",
            by_key=dict(self.by_key),
            anchors=anchors,
            latest_anchor=latest_anchor,
            waiting=self.waiting,
            oldest_waiting=self.oldest_waiting,
        )


def _read_anchors(ring: AuditKeyRing, extra: Iterable[Path]) -> tuple[list[Anchor], list[str]]:
    read = anchor_file.read(anchor_path(), ring)
    found, problems = list(read.anchors), list(read.problems)
    for path in extra:
        if not path.exists():
            problems.append(f"{path}: no such file")
            continue
        more = anchor_file.read(path, ring, from_log=True)
        found.extend(more.anchors)
        problems.extend(more.problems)
    return found, problems


def _anchor_problem(problems: list[str]) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"an anchor cannot be trusted: {problems[0]}{more}"


def verify_chain(
    *,
    batch_size: int = BATCH,
    progress: Progress = None,
    extra_anchors: Iterable[Path] = (),
) -> VerifyResult:
    """Walk every event in order and check it, the chain head, every anchor, and the events
    still waiting for the sealer (each by its own seal; none may be missing from the queue).

    Stops at the first failure, naming the event (when there is one) and the reason. A
    fresh install (no events, no anchors) verifies. Reads only: it links nothing.
    """
    try:
        ring = audit_keyring()
    except AuditKeyError as exc:
        return VerifyResult(0, reason=f"TRELLIS_AUDIT_KEYS is not usable: {exc}")
    found, problems = _read_anchors(ring, extra_anchors)
    if problems:
        return VerifyResult(0, reason=_anchor_problem(problems), anchors=len(found))
    walk = _Walk(ring, found)
    try:
        walk.rows(batch_size, progress)
        walk.check_anchors_reached()
        walk.check_head(batch_size, progress)
        walk.check_unkeyed_sealed()
        walk.check_waiting(batch_size)
    except _Broken as broken:
        return walk.result(anchors=len(found), broken=broken)
    return walk.result(anchors=len(found), latest_anchor=anchor_file.latest(found))


def anchor_chain(*, batch_size: int = BATCH, at: datetime | None = None) -> AnchorOutcome:
    """Link the events waiting for the sealer, check the chain since the latest anchor,
    then anchor the head.

    Appends one signed line to the anchor file and logs it. Nothing is written when the
    trail is empty, or when the check fails (an anchor must never vouch for a broken
    chain); the outcome says which. Cheap: only events after the latest anchor are read
    (`trellis audit verify` and the daily job walk the whole chain).
    """
    path = anchor_path()
    try:
        ring = audit_keyring()
    except AuditKeyError as exc:
        return AnchorOutcome(None, VerifyResult(0, reason=f"TRELLIS_AUDIT_KEYS: {exc}"), path)
    found, problems = _read_anchors(ring, ())
    if problems:
        return AnchorOutcome(None, VerifyResult(0, reason=_anchor_problem(problems)), path)
    start = anchor_file.latest(found)
    seal_pending()
    try:
        walk = _walk_from(start, ring, found)
        walk.rows(batch_size, None)
        walk.check_anchors_reached()
        walk.check_head(batch_size, None)
    except _Broken as broken:
        result = VerifyResult(0, broken_event=broken.event, reason=broken.reason)
        return AnchorOutcome(None, result, path)
    result = walk.result(anchors=len(found), latest_anchor=start)
    if walk.count == 0:
        return AnchorOutcome(None, result, path)
    anchor = anchor_file.signed(
        event=walk.last_event_pk,
        event_id=walk.last_event_id,
        mac=walk.prev,
        count=walk.count,
        at=(at or timeutil.now()).astimezone(timeutil.UTC),
        ring=ring,
    )
    try:
        anchor_file.append(path, anchor)
    except OSError as exc:
        problem = f"the anchor file {path} could not be written ({exc.strerror or exc})"
        return AnchorOutcome(
            None, walk.result(anchors=len(found), broken=_Broken(None, problem)), path
        )
    anchor_file.log(anchor)
    return AnchorOutcome(anchor, result, path)


def _walk_from(start: Anchor | None, ring: AuditKeyRing, found: list[Anchor]) -> _Walk:
    """A walk that carries on from the latest anchor, after checking the anchored event."""
    if start is None:
        return _Walk(ring, found)
    link = AuditLink.objects.filter(event_id=start.event).select_related("event").first()
    if link is not None:
        # Check the anchored link itself as the walk would, from the mac before it.
        probe = _Walk(ring, [start], prev=link.prev_mac, count=start.count - 1, linked=True)
        probe.check_link(link)
        return _Walk(
            ring, found, after=link.event_id, prev=link.mac, count=start.count, linked=True
        )
    event = AuditEvent.objects.filter(pk=start.event).first()
    if event is None:
        raise _Broken(start.event, f"{start.where} names an event the trail no longer holds")
    # Check the anchored event itself as the walk would, from the seal before it.
    probe = _Walk(ring, [start], after=start.event - 1, prev=event.prev_hash, count=start.count - 1)
    probe.check(event)
    return _Walk(
        ring,
        found,
        after=event.pk,
        prev=event.hash,
        count=start.count,
        keyed=event.key_id != UNKEYED,
    )
