"""trellis simulate: a simulated clinic, in files or through Trellis's own services.

    trellis simulate --patients N --weeks W --seed S --out DIR [--format parquet|csv]

writes a cohort straight to the interchange format (events, enrollments and the ground
truth beside them), without the database: for training, evaluating and benchmarks.
docs/insights-simulation.md describes the generative model.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.insights.risk import simulate


class Command(BaseCommand):
    help = "Simulate a clinic's patients from a documented generative model."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--weeks", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, help="Write the cohort to this folder.")
        parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 1 or options["weeks"] < 1:
            raise CommandError("--patients and --weeks are 1 or more.")
        if options["weeks"] > 52:
            raise CommandError("--weeks is at most 52.")
        if options["out"] is None:
            raise CommandError("Say where to write the cohort with --out DIR.")
        started = time.monotonic()
        cohort = simulate.simulate(options["patients"], options["weeks"], seed=options["seed"])
        written = simulate.write(cohort, options["out"], fmt=options["format"])
        self.stdout.write(
            f"Simulated {cohort.enrollments.height} enrollments and {cohort.events.height} "
            f"events over {options['weeks']} weeks in {time.monotonic() - started:.1f} s: "
            + ", ".join(str(path) for path in written.values())
        )
