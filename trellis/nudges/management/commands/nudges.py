"""`trellis nudges`: what the reminder rules would send, and the trial data.

    trellis nudges preview --enrollment ID [--days 14] [--from ISO] [--step MINUTES] [--seed N]
    trellis nudges export --clinic SLUG --out FILE [--format csv|parquet]

`preview` walks the clock forward over the days in memory, through the same rule queries
and decisions the clock uses (`decisions.evaluate_rules(dry_run=True)`), and prints each
decision: when (the patient's local time and UTC), which rule, whether it would be sent,
through which channels, and why not (unavailable and the reason, a cap, quiet hours, the
trial's draw). It writes nothing: no decision point, no delivery, no audit row.

`export` writes the clinic's decision points (docs/nudges.md, "Exporting a trial") and
records the export in the audit trail.
"""

from __future__ import annotations

import random
from argparse import ArgumentParser, ArgumentTypeError
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.core.files import private_dir
from trellis.nudges import decisions, services, trials
from trellis.nudges.models import Action, RuleKind

MAX_DAYS = 60


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a date and time (ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timeutil.UTC)


def _days(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise ArgumentTypeError(f"--days must be between 1 and {MAX_DAYS}")
    return days


def _step(raw: str) -> int:
    try:
        minutes = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number of minutes") from None
    if not 1 <= minutes <= 60:
        raise ArgumentTypeError("--step must be between 1 and 60 minutes")
    return minutes


def explain(decision: decisions.Decision) -> str:
    """Why a decision came out as it did, in a line."""
    rule = decision.due.rule
    scope = f"program {rule.program_key}" if rule.program_key else "every program"
    why = [f"rule {rule.kind} ({scope}), period {decision.due.period}"]
    if not decision.available:
        why.append(f"not available: {decision.reason}")
    elif decision.probability < 1:
        verdict = "below" if decision.action == Action.SEND else "not below"
        why.append(f"trial: draw {decision.draw:.3f} {verdict} probability {decision.probability}")
    if decision.suppressed:
        why.append(f"not sent: {decision.suppressed}")
    elif decision.waits_until is not None and decision.waits_until != decision.not_before:
        why.append("waits for the allowed hours / the end of quiet hours")
    return "; ".join(why)


class Command(BaseCommand):
    help = "Preview what the reminder rules would send to a patient; export trial data."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{preview,export}")
        preview = sub.add_parser("preview", help="What would be sent to one enrollment, when.")
        preview.add_argument("--enrollment", required=True, help="The enrollment's id.")
        preview.add_argument("--days", type=_days, default=14, help="Days ahead (1-60).")
        preview.add_argument(
            "--from", dest="start", type=_moment, help="Start here instead of now (ISO 8601)."
        )
        preview.add_argument(
            "--step", type=_step, default=5, help="Minutes between clock ticks (default 5)."
        )
        preview.add_argument(
            "--seed", type=int, help="Repeatable trial draws (default: unpredictable ones)."
        )
        export = sub.add_parser("export", help="Write a clinic's decision points to a file.")
        export.add_argument("--clinic", required=True, metavar="SLUG")
        export.add_argument("--out", required=True, type=Path, help="The file to write.")
        export.add_argument("--format", choices=trials.FORMATS, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "preview":
            self.preview(options)
        else:
            self.export(options)

    def preview(self, options: dict[str, Any]) -> None:
        try:
            pk = UUID(options["enrollment"])
        except ValueError:
            raise CommandError(f"{options['enrollment']!r} is not an enrollment id.") from None
        enrollment = (
            Enrollment.objects.select_related("patient", "organization").filter(pk=pk).first()
        )
        if enrollment is None:
            raise CommandError(f"No enrollment {pk}.")
        start = timeutil.floor_to_period(
            options["start"] or timeutil.now(), timedelta(minutes=options["step"])
        )
        end = start + timedelta(days=options["days"])
        zone = services.zone_of(
            enrollment.patient,
            enrollment.organization,
            services.preferences_of(enrollment.patient),
        )
        self.stdout.write(
            f"Enrollment {enrollment.pk} ({enrollment.get_status_display()}), "
            f"time zone {zone.key}: what the rules would decide from "
            f"{start.astimezone(zone):%Y-%m-%d %H:%M} for {options['days']} days. "
            "Nothing is written."
        )
        ledger = decisions.Ledger()
        draws = (
            random.Random(options["seed"])
            if options["seed"] is not None
            else decisions.production_draws()
        )
        found = 0
        moment = start
        while moment < end:
            result = decisions.evaluate_rules(
                moment,
                draws=draws,
                enrollment_ids=[enrollment.pk],
                dry_run=True,
                ledger=ledger,
            )
            for decision in result.decisions:
                found += 1
                self.stdout.write(self.line(decision, zone))
            moment += timedelta(minutes=options["step"])
        if not found:
            self.stdout.write("No rule would reach this enrollment in that time.")
        self.stdout.write(
            "Appointment texts (24 h and 1 h before a session) follow the booked sessions "
            f"and are not shown here; the supporters' digest ({RuleKind.SUPPORTER_DIGEST}) "
            "is for staff."
        )

    def line(self, decision: decisions.Decision, zone: Any) -> str:
        at = decision.waits_until or decision.not_before or decision.decided_at
        if decision.action == Action.SEND and not decision.suppressed:
            verdict = "SEND via " + (", ".join(decision.channels) or "no channel")
        elif decision.action == Action.SEND:
            verdict = "NOT SENT"
        elif decision.action == Action.HOLD:
            verdict = "HOLD (trial)"
        else:
            verdict = "NONE"
        return (
            f"{at.astimezone(zone):%a %Y-%m-%d %H:%M %Z} "
            f"({at.astimezone(timeutil.UTC):%Y-%m-%d %H:%M} UTC)  "
            f"{decision.due.rule.kind:<22} {verdict:<24} {explain(decision)}"
        )

    def export(self, options: dict[str, Any]) -> None:
        organization = Organization.objects.filter(slug=options["clinic"]).first()
        if organization is None:
            raise CommandError(f"No clinic with the short name {options['clinic']!r}.")
        out: Path = options["out"]
        fmt = options["format"] or ("parquet" if out.suffix == ".parquet" else "csv")
        if out.parent != Path(""):
            private_dir(out.parent)
        count = trials.write(organization, out, fmt=fmt)
        trials.record_export(
            organization, actor=None, fmt=fmt, count=count, actor_label="trellis nudges export"
        )
        self.stdout.write(f"Wrote {count} decision points of {organization.slug} to {out} ({fmt}).")
