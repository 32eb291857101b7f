"""`trellis audit verify | anchor | report`: checking, anchoring and reading the audit trail.

verify  walks the whole sealed chain with the audit keys and checks it against the chain
        head and every anchor; exits 0 saying how many events verified, or 1 naming the
        first event (or anchor) that does not verify and why.
anchor  links the events waiting for the sealer, checks the chain since the latest anchor
        and appends a signed anchor of the chain's head to the anchor file and the log
        (the clock does it every hour).
seal    links the events waiting for the sealer into the chain now (every clock does it
        every few seconds).
report  prints every event about one patient, or by or about one person, as a table
        or as CSV; the report itself is recorded in the trail.
"""

from __future__ import annotations

import sys
import uuid
from argparse import ArgumentParser, ArgumentTypeError
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trellis import audit
from trellis.audit import export
from trellis.audit.integrity import BATCH, VerifyResult, anchor_chain, verify_chain
from trellis.audit.models import AuditEvent
from trellis.audit.queries import events_about
from trellis.audit.sealer import seal_pending
from trellis.core import timeutil


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not an id (expected a UUID)") from None


def _moment(raw: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date and time (UTC if no offset is given)."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=timeutil.UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a date (YYYY-MM-DD) or date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timeutil.UTC)


class Command(BaseCommand):
    help = (
        "Verify the audit trail's sealed chain, anchor its head, or report the events "
        "about a person."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{verify,anchor,seal,report}"
        )
        verify = sub.add_parser(
            "verify", help="Check every audit event, the chain head and every anchor."
        )
        verify.add_argument("--batch-size", type=int, default=BATCH)
        verify.add_argument(
            "--anchors",
            type=Path,
            action="append",
            default=[],
            metavar="FILE",
            help="Also check against the anchors in FILE: a copy of the anchor file, or an "
            "application log with `audit anchor` lines (may be given more than once).",
        )
        anchor = sub.add_parser(
            "anchor", help="Check the newest events and write a signed anchor of the head."
        )
        anchor.add_argument("--batch-size", type=int, default=BATCH)
        sub.add_parser("seal", help="Link the events waiting for the sealer into the chain now.")
        report = sub.add_parser("report", help="Print the audit events about a patient or person.")
        who = report.add_mutually_exclusive_group(required=True)
        who.add_argument("--patient", type=_uuid, help="Events about this patient (their id).")
        who.add_argument("--user", type=_uuid, help="Events by or about this person (their id).")
        report.add_argument("--since", type=_moment, help="From this date or time (UTC).")
        report.add_argument(
            "--until", type=_moment, help="Up to (not including) this date or time."
        )
        report.add_argument("--csv", action="store_true", help="Print CSV instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        match options["subcommand"]:
            case "verify":
                self.verify(options["batch_size"], options["anchors"])
            case "anchor":
                self.anchor(options["batch_size"])
            case "seal":
                linked = seal_pending()
                self.stdout.write(f"Linked {linked} audit events into the chain.")
            case _:
                self.report(options)

    # verify ---------------------------------------------------------------------

    def verify(self, batch_size: int, extra_anchors: list[Path]) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        total = AuditEvent.objects.count()
        show_progress = total > batch_size

        def progress(done: int) -> None:
            if show_progress:
                self.stderr.write(f"  {done} of about {total} events checked")

        result = verify_chain(batch_size=batch_size, progress=progress, extra_anchors=extra_anchors)
        if result.ok:
            self.stdout.write(f"{result.verified + result.waiting} audit events verified")
            self._describe_success(result)
            return
        self.stderr.write(self._describe_break(result.broken_event, result.reason, result.verified))
        sys.exit(1)

    def _describe_success(self, result: VerifyResult) -> None:
        keys = ", ".join(f"{kid}: {n}" for kid, n in sorted(result.by_key.items()) if kid)
        if keys:
            self.stdout.write(f"  sealed with audit keys {keys}")
        if result.by_key.get(""):
            self.stdout.write(
                f"  {result.by_key['']} events from before the chain was keyed (plain SHA-256)"
            )
        if result.waiting and result.oldest_waiting is not None:
            waited = (timeutil.now() - result.oldest_waiting).total_seconds()
            self.stdout.write(
                f"  {result.waiting} of them not yet linked into the chain (each checked by "
                f"its own seal; the oldest has waited {waited:.0f} s for the sealer)"
            )
        latest = result.latest_anchor
        if latest is None:
            self.stdout.write(
                "  no anchors to check against yet (run `trellis audit anchor`; the clock "
                "writes one every hour)"
            )
        else:
            self.stdout.write(f"  {result.anchors} anchors hold; the latest is {latest.where}")

    def anchor(self, batch_size: int) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        outcome = anchor_chain(batch_size=batch_size)
        result = outcome.result
        if not result.ok:
            self.stderr.write("No anchor written: the audit trail did not verify.")
            described = self._describe_break(result.broken_event, result.reason, result.verified)
            self.stderr.write(described.split("\n", 1)[1])  # without the count of the walk
            sys.exit(1)
        if outcome.anchor is None:
            self.stdout.write("The audit trail is empty: nothing to anchor yet.")
            return
        self.stdout.write(
            f"Anchored event #{outcome.anchor.event} ({outcome.anchor.count} events in) "
            f"to {outcome.path}"
        )

    def _describe_break(self, event_pk: int | None, reason: str, verified: int) -> str:
        event = AuditEvent.objects.filter(pk=event_pk).first() if event_pk is not None else None
        lines = [f"Audit chain broken after {verified} verified events."]
        if event_pk is None:
            pass
        elif event is None:
            lines.append(f"First failing row: id={event_pk} (no longer in the table)")
        else:
            lines.append(
                "First failing row: "
                f"id={event.pk} event_id={event.event_id} action={event.action} "
                f"time={event.occurred_at.astimezone(timeutil.UTC).isoformat()}"
            )
            before = AuditEvent.objects.filter(id__lt=event.pk).order_by("-id").first()
            missing_from = (before.pk if before else 0) + 1
            if "link" in reason and missing_from < event.pk:
                lines.append(
                    f"Note: no events with ids {missing_from}..{event.pk - 1} are in the table "
                    "(removed, or never committed)."
                )
        lines.append(f"Reason: {reason}")
        return "\n".join(lines)

    # report ---------------------------------------------------------------------

    def report(self, options: dict[str, Any]) -> None:
        patient, user = options["patient"], options["user"]
        since, until = options["since"], options["until"]
        events = events_about(patient=patient, user=user, since=since, until=until)
        with transaction.atomic():
            audit.record(
                action="audit.report",
                actor_label="trellis audit report",
                patient=patient,
                object_type="accounts.user",
                object_id=str(patient or user),
                details={
                    "patient": str(patient or ""),
                    "user": str(user or ""),
                    "since": since.isoformat() if since else "",
                    "until": until.isoformat() if until else "",
                    "format": "csv" if options["csv"] else "table",
                },
            )
        if options["csv"]:
            for line in export.csv_lines(events.iterator(chunk_size=2000)):
                self.stdout.write(line, ending="")
            return
        count = 0
        self.stdout.write(f"{'time (UTC)':<20}  {'action':<28}  {'by':<32}  object")
        for event in events.iterator(chunk_size=2000):
            count += 1
            when = event.occurred_at.astimezone(timeutil.UTC).strftime("%Y-%m-%d %H:%M:%S")
            who = event.actor_label or "system"
            what = f"{event.object_type} {event.object_id}".strip()
            self.stdout.write(f"{when:<20}  {event.action:<28}  {who:<32}  {what}")
        self.stdout.write(f"{count} events")
