"""`trellis clock`: enqueues each registered periodic job once per period, and runs the
clock's duties (such as the audit sealer) every few seconds.

Run one clock (or several, for resilience: each period is claimed by exactly one, and
duties are safe to run from several). `--once` runs a single tick and every duty once,
for tests or for running the clock from cron.
"""

from __future__ import annotations

import signal
import threading
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from trellis.core import periodic, timeutil


class Command(BaseCommand):
    help = "Enqueue each periodic job once per period (safe with several clocks)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="Seconds between ticks (default 30)."
        )
        parser.add_argument("--list", action="store_true", help="List the periodic jobs and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = periodic.jobs()
        if options["list"]:
            for job in jobs:
                self.stdout.write(f"{job.name}  every {job.every}")
            return
        if options["interval"] <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        duties = periodic.duties()
        if options["once"]:
            self._tick(jobs)
            for duty in duties:
                periodic.perform(duty)
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        each = "duty" if len(duties) == 1 else "duties"
        self.stdout.write(f"Clock started with {len(jobs)} periodic jobs and {len(duties)} {each}")
        interval = options["interval"]
        next_tick = time.monotonic()
        next_duty = {duty.name: next_tick for duty in duties}
        while not stop.is_set():
            close_old_connections()
            now = time.monotonic()
            if now >= next_tick:
                self._tick(jobs)
                next_tick = now + interval
            for duty in duties:
                if now >= next_duty[duty.name]:
                    periodic.perform(duty)
                    next_duty[duty.name] = time.monotonic() + duty.every.total_seconds()
            wake = min([next_tick, *next_duty.values()])
            stop.wait(max(0.0, wake - time.monotonic()))
        self.stdout.write("Clock stopped")

    def _tick(self, jobs: list[periodic.PeriodicJob]) -> None:
        for outcome in periodic.tick(timeutil.now(), only=jobs):
            if outcome.enqueued:
                self.stdout.write(
                    f"enqueued {outcome.job} for the period from {outcome.period_start.isoformat()}"
                )
