"""SMART system scopes: what a clinic lets a client ask for, and what a token is granted.

A client is registered with the scopes it may ask for (`BackendClient.scopes`, space
separated): `system/*.read` (every resource type Trellis serves), `system/<Type>.read`
for single types, and `system/ServiceRequest.write` for sending referrals.

At the token endpoint it asks for scopes; it is granted those of them its registration
allows. A wildcard on either side narrows to the other: a client allowed `system/*.read`
asking for `system/Patient.read` gets that; a client allowed only `system/Patient.read`
asking for `system/*.read` gets `system/Patient.read`. SMART v2 read scopes
(`system/Patient.rs`) are understood as the v1 `.read` they stand for, and granted in the
form asked for. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ALL_READ = "system/*.read"
REFER = "system/ServiceRequest.write"
READ_SUFFIXES = ("read", "rs", "r", "s")


def read_scope(resource_type: str) -> str:
    return f"system/{resource_type}.read"


def allowed_choices(resource_types: Iterable[str]) -> list[str]:
    """Every scope a client may be registered with, in the order the page lists them."""
    return [ALL_READ, *(read_scope(t) for t in sorted(set(resource_types))), REFER]


def _split(scope: str) -> tuple[str, str, str] | None:
    context, slash, rest = scope.partition("/")
    kind, dot, access = rest.partition(".")
    if not slash or not dot or not kind or not access:
        return None
    return context, kind, access


def _as_read(scope: str) -> str | None:
    """`system/X.read` for a read scope in either form; None for anything else."""
    parts = _split(scope)
    if parts is None:
        return None
    context, kind, access = parts
    if context != "system" or access not in READ_SUFFIXES:
        return None
    return f"system/{kind}.read"


def grant(requested: Sequence[str], allowed: Iterable[str]) -> list[str]:
    """The scopes granted: each one asked for that the registration allows, wildcards
    narrowed as the module says; in the order asked, without repeats."""
    allowed_set = set(allowed)
    allowed_reads = {s for s in allowed_set if s != REFER and _as_read(s) is not None}
    granted: list[str] = []

    def add(scope: str) -> None:
        if scope not in granted:
            granted.append(scope)

    for scope in requested:
        if scope in allowed_set:
            add(scope)
            continue
        as_read = _as_read(scope)
        if as_read is None:
            continue
        if as_read in allowed_reads or (ALL_READ in allowed_reads and as_read != ALL_READ):
            add(scope)
        elif as_read == ALL_READ:
            # Asked for everything, allowed some types: those types.
            for narrower in sorted(allowed_reads):
                add(narrower)
    return granted
