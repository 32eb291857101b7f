"""Reading a Bulk Data kick-off request: its `Prefer` header and its parameters.

Pure: no database. What the Bulk Data Access IG (v2) asks, and what Trellis supports:

- `Prefer: respond-async` is required;
- `_type`: a comma separated list (the parameter may also repeat), each an exportable
  type; omitted, every exportable type the token may read;
- `_since`: a FHIR instant (date, time to the second and a zone), only what changed after;
- `_outputFormat`: `application/fhir+ndjson`, `application/ndjson` or `ndjson`;
- any other parameter (`_typeFilter`, `_elements`, `patient`, ...) is refused by name
  rather than silently ignored.

Every refusal is a `KickoffProblem` with the HTTP status and the FHIR issue code it needs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PARAMETERS = ("_type", "_since", "_outputFormat")
# A FHIR instant: to the second at least, with a zone (Z or an offset).
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class KickoffProblem(Exception):
    """A kick-off refused: HTTP status, FHIR issue code, and what was wrong."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class ExportRequest:
    types: tuple[str, ...]
    since: datetime | None


def wants_async(prefer: str) -> bool:
    """Whether a `Prefer` header asks for the asynchronous pattern."""
    return any(p.strip().lower() == "respond-async" for p in prefer.split(","))


def parse_instant(value: str) -> datetime:
    if not INSTANT.match(value):
        raise ValueError(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_kickoff(
    params: Mapping[str, Sequence[str]],
    *,
    prefer: str,
    exportable: Collection[str],
    readable: Collection[str],
) -> ExportRequest:
    """The export asked for, or KickoffProblem. `exportable`: the types Trellis can export
    (in the order files are written); `readable`: those the token's scopes allow."""
    if not wants_async(prefer):
        raise KickoffProblem(
            400, "invalid", "A bulk export needs the header Prefer: respond-async."
        )
    unknown = sorted(name for name in params if name not in PARAMETERS)
    if unknown:
        raise KickoffProblem(
            400,
            "not-supported",
            f"Parameter(s) not supported: {', '.join(unknown)}. "
            f"A bulk export here takes {', '.join(PARAMETERS)}.",
        )
    for name in ("_since", "_outputFormat"):
        if len(params.get(name, ())) > 1:
            raise KickoffProblem(400, "invalid", f"{name} may be given once.")

    formats = params.get("_outputFormat", ())
    if formats and formats[0] not in OUTPUT_FORMATS:
        raise KickoffProblem(
            400,
            "not-supported",
            f"_outputFormat {formats[0]!r} is not supported; use {', '.join(OUTPUT_FORMATS)}.",
        )

    since = None
    if params.get("_since"):
        raw = params["_since"][0]
        try:
            since = parse_instant(raw)
        except ValueError:
            raise KickoffProblem(
                400,
                "invalid",
                f"_since {raw!r} is not a FHIR instant, such as 2026-01-31T09:00:00Z.",
            ) from None

    asked = [t.strip() for value in params.get("_type", ()) for t in value.split(",")]
    if params.get("_type") and not [t for t in asked if t]:
        raise KickoffProblem(400, "invalid", "_type is empty: name one or more resource types.")
    asked = [t for t in asked if t]
    not_exportable = [t for t in dict.fromkeys(asked) if t not in exportable]
    if not_exportable:
        raise KickoffProblem(
            400,
            "not-supported",
            f"_type names resource type(s) that cannot be exported: {', '.join(not_exportable)}. "
            f"Exportable types: {', '.join(exportable)}.",
        )
    if asked:
        not_readable = [t for t in dict.fromkeys(asked) if t not in readable]
        if not_readable:
            raise KickoffProblem(
                403,
                "forbidden",
                f"The access token's scopes do not allow reading {', '.join(not_readable)}.",
            )
        chosen = set(asked)
        types = tuple(t for t in exportable if t in chosen)
    else:
        types = tuple(t for t in exportable if t in readable)
        if not types:
            raise KickoffProblem(
                403, "forbidden", "The access token's scopes allow reading no exportable type."
            )
    return ExportRequest(types=types, since=since)
