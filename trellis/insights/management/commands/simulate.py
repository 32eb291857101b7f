"""trellis simulate: a simulated clinic, in files or through Trellis's own services.

    trellis simulate --patients N --weeks W --seed S --out DIR [--format parquet|csv]

writes a cohort straight to the interchange format (events, enrollments and the ground
truth beside them), without the database: for training, evaluating and benchmarks.

    trellis simulate --patients N --weeks W --seed S --organization SLUG [--program SLUG]
        [--truth DIR]

makes the patients in the database, through Trellis's own services (insights.clinic_sim),
started over the last W weeks, and writes the ground truth to DIR/truth.parquet.
docs/insights-simulation.md describes the generative model.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization
from trellis.core import timeutil
from trellis.insights import clinic_sim
from trellis.insights.risk import simulate
from trellis.programs.models import ProgramVersion


class Command(BaseCommand):
    help = "Simulate a clinic's patients from a documented generative model."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--weeks", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, help="Write the cohort to this folder.")
        parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
        parser.add_argument("--organization", metavar="SLUG", help="Make them at this clinic.")
        parser.add_argument(
            "--program", metavar="SLUG", help="In this program (default: the first)."
        )
        parser.add_argument("--truth", type=Path, help="Where to write truth.parquet.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 1 or options["weeks"] < 1:
            raise CommandError("--patients and --weeks are 1 or more.")
        if options["weeks"] > 52:
            raise CommandError("--weeks is at most 52.")
        if options["organization"]:
            self._in_the_database(options)
            return
        if options["out"] is None:
            raise CommandError(
                "Say where to write the cohort with --out DIR, or which clinic to make the "
                "patients at with --organization SLUG."
            )
        started = time.monotonic()
        cohort = simulate.simulate(options["patients"], options["weeks"], seed=options["seed"])
        written = simulate.write(cohort, options["out"], fmt=options["format"])
        self.stdout.write(
            f"Simulated {cohort.enrollments.height} enrollments and {cohort.events.height} "
            f"events over {options['weeks']} weeks in {time.monotonic() - started:.1f} s: "
            + ", ".join(str(path) for path in written.values())
        )

    def _in_the_database(self, options: dict[str, Any]) -> None:
        clinic = Organization.objects.filter(slug=options["organization"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with the short name {options['organization']!r}.")
        versions = ProgramVersion.objects.select_related("program")
        if options["program"]:
            versions = versions.filter(program__slug=options["program"])
        version = versions.order_by("program__slug", "-number").first()
        if version is None:
            raise CommandError("No published program to enroll the simulated patients in.")
        started = time.monotonic()
        done = clinic_sim.populate(
            clinic,
            version,
            clinic_sim.supporters_at(clinic),
            patients=options["patients"],
            weeks=options["weeks"],
            seed=options["seed"],
            now=timeutil.now(),
            out=options["truth"],
        )
        refused = sum(done.refused.values())
        self.stdout.write(
            f"Simulated {len(done.enrollments)} patients at {clinic.name} in "
            f"{version.title} over {options['weeks']} weeks in "
            f"{time.monotonic() - started:.1f} s: {sum(done.played.values())} actions played "
            f"through Trellis, {refused} refused by it."
            + (f" Ground truth: {done.truth}." if done.truth else "")
        )
        if done.refused:
            listed = ", ".join(f"{kind} {n}" for kind, n in done.refused.most_common())
            self.stdout.write(f"Refused by Trellis (not forced): {listed}.")
