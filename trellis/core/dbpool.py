"""Getting psycopg's connection pool back as soon as the database is.

When PostgreSQL restarts, every connection in the pool breaks. The pool replaces them in
the background, but a failed attempt waits 1, 2, 4, 8 ... seconds before the next, so a
database back after three seconds may be used again only after fifteen or more. Instead,
when a request meets the database out of reach, `watch_for_return` starts one watcher
thread per process (if none runs) that tries a plain connection four times a second; the
moment one succeeds it sets the process's pool aside (closed in the background:
connections in use go when they are returned) and the next request builds a new pool,
which connects at once. While the database is away, requests wait for a connection up to
the pool's timeout and are answered 503 (trellis.core.middleware).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from django.db import connections

logger = logging.getLogger(__name__)

PROBE_EVERY_SECONDS = 0.25
GIVE_UP_AFTER_SECONDS = 15 * 60  # the next outage starts another watcher

_lock = threading.Lock()
_watching: set[str] = set()


def pooled_aliases() -> list[str]:
    """The database aliases served through psycopg's pool."""
    return [
        alias
        for alias in connections
        if connections.settings[alias]["ENGINE"].endswith("postgresql")
        and connections.settings[alias].get("OPTIONS", {}).get("pool")
    ]


def watch_for_return() -> list[str]:
    """Start a watcher for each pooled database not watched yet; the aliases started."""
    started = []
    for alias in pooled_aliases():
        with _lock:
            if alias in _watching:
                continue
            _watching.add(alias)
        params = connections[alias].get_connection_params()
        threading.Thread(
            target=_watch, args=(alias, params), name=f"trellis-db-watch-{alias}", daemon=True
        ).start()
        started.append(alias)
    return started


def _watch(alias: str, params: dict[str, Any]) -> None:
    deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
    try:
        while time.monotonic() < deadline:
            try:
                psycopg.connect(**{**params, "connect_timeout": 2}).close()
            except psycopg.Error:
                time.sleep(PROBE_EVERY_SECONDS)
                continue
            renew_pool(alias)
            return
    finally:
        with _lock:
            _watching.discard(alias)


def renew_pool(alias: str) -> bool:
    """Set the pool of `alias` aside (the next request makes a new one); False if none."""
    wrapper = connections[alias]
    # Django keeps one pool per alias for the process, on the backend's class.
    pools: dict[str, Any] = getattr(type(wrapper), "_connection_pools", {})
    with _lock:
        pool = pools.pop(alias, None)
    if pool is None:
        return False
    logger.warning("database %s is back: its connection pool is renewed", alias)
    threading.Thread(
        target=pool.close, kwargs={"timeout": 5.0}, name="trellis-pool-close", daemon=True
    ).start()
    return True
