"""Reports and exports read from a read replica; everything else uses the primary.

With `DATABASE_REPLICA_URL` set, settings add a `replica` connection and install
`ReplicaRouter`. Code that reads a lot and writes nothing (a clinic's reports, the FHIR
bulk export, the research export, `trellis events export`) wraps its reads in

    with reading_from_replica():
        rows = list(...)

and only those reads go to the replica. The router never sends anything else there:

- every write goes to the primary (`default`), also when the instance was read from the
  replica;
- a read inside an open transaction on the primary stays on the primary, so a service
  that reads what it has just written sees it, and a report computed inside a
  transaction that also writes reads one consistent database;
- migrations run on the primary only (the replica copies them from it).

A replica lags its primary by a moment (usually well under a second, seconds under heavy
load; docs/deployment.md): a report may not yet count the check-in made a second ago.
Nothing that a person has just done and expects to see is read from it.

In the test settings the replica is a second connection to the test database
(`TEST: {"MIRROR": "default"}`), so the routing is exercised by the suite.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads made inside this block may be served by the replica (when there is one and
    the primary has no transaction open). Per thread and per task: other requests served
    by the same process at the same time are not affected."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def read_alias() -> str:
    """The connection a read made now goes to: `replica` only inside
    `reading_from_replica()`, with a replica configured and no transaction open on the
    primary; `default` otherwise."""
    if not _reading_from_replica.get():
        return DEFAULT_DB_ALIAS
    if REPLICA not in connections.settings:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


def replica_database(url_settings: Mapping[str, Any], primary: Mapping[str, Any]) -> Any:
    """The `replica` entry of DATABASES: the replica's own address (`url_settings`, parsed
    from DATABASE_REPLICA_URL; empty to use the primary's, as the tests do) with the
    primary's engine options (the connection pool), mirroring the primary under test."""
    replica: dict[str, Any] = {**primary, **url_settings} if url_settings else dict(primary)
    replica["OPTIONS"] = {**primary.get("OPTIONS", {}), **url_settings.get("OPTIONS", {})}
    replica["TEST"] = {"MIRROR": DEFAULT_DB_ALIAS}
    return replica


class ReplicaRouter:
    """Django's database router for a primary with one read replica."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both connections hold the same rows: an object read from the replica may point
        # at one read from the primary.
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
