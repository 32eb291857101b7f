"""Scoring speed and memory of the dropout-risk model, from files, as a clinic's nightly run.

Writes simulated cohorts with `trellis simulate` (10,000 to 100,000 enrollments, about 100
events each: 10 million events for the largest), trains one model on a separate cohort,
then for each size runs `trellis model predict` in a process of its own and reports its
wall time and peak memory (the process's maximum resident set). Prints each run, the
median of the runs for each size, and how time grows from the smallest to the largest.

    TRELLIS_ENV=test .venv/bin/python bench/insights.py --runs 3
    TRELLIS_ENV=test .venv/bin/python bench/insights.py --sizes 10000,30000,100000 --runs 3

Target: 100,000 enrollments with 10 million events scored in 60 s or less and 4 GB or less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Runs one trellis command and then reports the process's own peak memory (kB) on stderr.
MEASURED = (
    "import resource, sys\n"
    "from trellis.cli import main\n"
    "main(['trellis', *sys.argv[1:]])\n"
    "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
ENV = {**os.environ, "TRELLIS_ENV": os.environ.get("TRELLIS_ENV", "test")}


def run(args: list[str]) -> tuple[float, float, str]:
    """Run one trellis command; its wall seconds, its peak memory in MB and its output."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode:
        sys.exit(f"trellis {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    peak_kb = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak ")
    )
    return seconds, peak_kb / 1024, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--weeks", type=int, default=5, help="about 100 events an enrollment")
    parser.add_argument("--train", type=int, default=20000, help="enrollments to train on")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as-of-day", type=int, default=28, dest="as_of_day")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        seconds, _, out = run(
            [
                "simulate",
                "--patients",
                str(args.train),
                "--weeks",
                "12",
                "--seed",
                "1",
                "--out",
                str(folder / "train"),
            ]
        )
        print(out)
        seconds, _, out = run(
            [
                "model",
                "train",
                "--events",
                str(folder / "train/events.parquet"),
                "--enrollments",
                str(folder / "train/enrollments.parquet"),
                "--out",
                str(folder / "model"),
            ]
        )
        print(f"{out} ({seconds:.0f} s)")
        medians = {}
        for size in sizes:
            cohort = folder / f"cohort-{size}"
            _, _, out = run(
                [
                    "simulate",
                    "--patients",
                    str(size),
                    "--weeks",
                    str(args.weeks),
                    "--seed",
                    str(size),
                    "--out",
                    str(cohort),
                ]
            )
            print(out)
            times, peaks = [], []
            for n in range(args.runs):
                seconds, peak, out = run(
                    [
                        "model",
                        "predict",
                        "--model",
                        str(folder / "model"),
                        "--events",
                        str(cohort / "events.parquet"),
                        "--enrollments",
                        str(cohort / "enrollments.parquet"),
                        "--as-of-day",
                        str(args.as_of_day),
                        "--out",
                        str(cohort / "preds.csv"),
                    ]
                )
                times.append(seconds)
                peaks.append(peak)
                print(
                    f"  {size} enrollments, run {n + 1}: {seconds:.1f} s, peak {peak:.0f} MB; {out}"
                )
            medians[size] = statistics.median(times)
            print(
                f"{size} enrollments: median {medians[size]:.1f} s, peak memory {max(peaks):.0f} MB"
            )
        smallest, largest = sizes[0], sizes[-1]
        print(
            f"from {smallest} to {largest} enrollments ({largest / smallest:.0f}x): time "
            f"{medians[largest] / medians[smallest]:.1f}x "
            f"({medians[smallest]:.1f} s to {medians[largest]:.1f} s)"
        )


if __name__ == "__main__":
    main()
