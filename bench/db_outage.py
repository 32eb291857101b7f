"""A database outage under a running server: how long requests fail, and how soon after the
database is back they are served again, with Django's own connections and with psycopg's
pool.

Starts a PostgreSQL server of its own (initdb and pg_ctl from /usr/lib/postgresql/*/bin, in
a temporary folder on a free port; the shared server is never touched), gives it Trellis's
schema (`trellis migrate`, or `--schema-from URL` to copy an already migrated database's
schema with pg_dump, which is quicker), and runs `trellis serve` on it twice: once with plain
connections (TRELLIS_DB_POOL=0) and once with the pool (TRELLIS_DB_POOL=1). For each, RUNS
times: the server stops (immediate shutdown, as in a crash), a request that needs the
database is timed (its 503), the server starts again, and requests are sent every 20 ms
until one is served. Prints, as medians: the time to the 503 during the outage, and the
recovery time from the moment the database accepts connections again to the first request
served.

    .venv/bin/python bench/db_outage.py --runs 3
    .venv/bin/python bench/db_outage.py --runs 3 \\
        --schema-from postgres://postgres@127.0.0.1:5432/test_trellis
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trellis.core.tests.private_postgres import (
    PrivatePostgres,
    postgres_bin,
    serve,
    stop_server,
)

# A request that must read the database: an API token of the right form that nobody holds.
PATH = "/api/v1/me"
HEADERS = {"Authorization": "Bearer trl_" + "x" * 43}


def status_of(base: str) -> int:
    request = urllib.request.Request(base + PATH, headers=HEADERS)  # noqa: S310 (this machine)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def one_outage(cluster: PrivatePostgres, base: str) -> tuple[float, float]:
    """Seconds to the 503 while the database is down; seconds from its return to service."""
    assert status_of(base) == 401, "the server does not serve before the outage"
    cluster.stop()
    started = time.monotonic()
    during = status_of(base)
    to_503 = time.monotonic() - started
    if during != 503:
        raise SystemExit(f"expected 503 while the database is down, got {during}")
    cluster.start()  # returns once the server accepts connections
    back = time.monotonic()
    deadline = back + 120
    while status_of(base) != 401:
        if time.monotonic() > deadline:
            raise SystemExit("not served again within 120 s of the database's return")
        time.sleep(0.02)
    return to_503, time.monotonic() - back


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schema-from", default="", help="copy this database's schema")
    args = parser.parse_args()
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's server tools (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.start()
        cluster.create_database("trellis")
        url = cluster.url("trellis")
        if args.schema_from:
            cluster.load_schema_from(args.schema_from, "trellis")
        else:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_")}
            env.update(TRELLIS_ENV="test", DATABASE_URL=url, TRELLIS_DB_POOL="0")
            subprocess.run(
                [sys.executable, "-m", "trellis", "migrate", "--no-input", "-v", "0"],
                env=env,
                check=True,
            )
        with tempfile.TemporaryDirectory() as var:
            for pool in (False, True):
                server, base = serve(url, Path(var) / ("pool" if pool else "plain"), pool=pool)
                try:
                    results = [one_outage(cluster, base) for _ in range(args.runs)]
                finally:
                    stop_server(server)
                to_503 = statistics.median(r[0] for r in results)
                recovery = statistics.median(r[1] for r in results)
                name = "pool (TRELLIS_DB_POOL=1)" if pool else "plain connections"
                print(
                    f"{name:28} 503 during the outage after {to_503 * 1000:7.0f} ms; "
                    f"served again {recovery * 1000:6.0f} ms after the database is back "
                    f"(median of {args.runs}; every run: "
                    + ", ".join(f"{r[1] * 1000:.0f}" for r in results)
                    + " ms)"
                )
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
