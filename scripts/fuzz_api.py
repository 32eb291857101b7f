"""The long fuzzing run of the JSON API against its OpenAPI document (docs/api.md).

Builds a scratch demo clinic (a new SQLite database in a temporary folder, unless
DATABASE_URL names one: use a scratch PostgreSQL database for figures from the production
engine, never a real one), then runs schemathesis with every check on as a patient, a
therapist and a read-write API token, round after round with a new seed each round, until
at least --requests requests have been sent. Prints each caller's round with its failures
as they are found, then the totals; exits 1 if there was any failure.

    .venv/bin/python scripts/fuzz_api.py --requests 20000
    make fuzz
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="stop after this many")
    parser.add_argument("--examples", type=int, default=50, help="examples per operation and round")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory(prefix="trellis-fuzz-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch.name}/fuzz.sqlite3")
    # Fast password hashing and no e-mail: the run is about the API, not about argon2 or SMTP.
    os.environ["TRELLIS_ENV"] = "test"
    os.environ["EMAIL_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from tests.api_fuzz import CALLERS, fuzz, prepare_callers, seed_clinic
    from trellis.core import timeutil

    call_command("migrate", verbosity=0)
    callers = prepare_callers(seed_clinic(timeutil.now()))

    started = time.perf_counter()
    requests = 0
    failures: list[str] = []
    seed = args.seed
    while requests < args.requests:
        for name in CALLERS:
            outcome = fuzz(callers[name], max_examples=args.examples, seed=seed)
            requests += outcome.requests
            found = [*outcome.failures, *(f"error: {e}" for e in outcome.errors)]
            failures += found
            print(f"seed {seed} {outcome.summary()}", flush=True)
            for failure in found:
                print(f"  {failure}", flush=True)
        seed += 1
    elapsed = time.perf_counter() - started
    print(f"\n{requests} requests, {len(failures)} failures, {elapsed:.0f} s")
    scratch.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
