"""The deployment findings `trellis check` prints and `trellis serve` refuses to start on.

One function gathers them, so the two commands can never disagree about what makes a
configuration unsafe: Django's system checks with its deployment checks and the default
database's checks, which include Trellis's own (trellis/core/checks.py and the apps'
`checks` modules).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import checks
from django.core.checks import CheckMessage
from django.db import DEFAULT_DB_ALIAS


def describe(message: CheckMessage) -> str:
    """One line: what is wrong, how to put it right, and the id of the check that found it."""
    text = str(message.msg)
    if message.obj is not None:
        text = f"{message.obj}: {text}"
    if message.hint:
        text = f"{text}: {message.hint}"
    return f"{text} [{message.id}]" if message.id else text


@dataclass(frozen=True)
class Findings:
    """What the checks found: `errors` block a production start, `warnings` do not."""

    errors: list[CheckMessage]
    warnings: list[CheckMessage]


def findings(*, production: bool) -> Findings:
    """Run every deployment check. In production the serious ones are errors; elsewhere
    everything is a warning (a laptop has no TLS and needs none)."""
    found = checks.run_checks(include_deployment_checks=True, databases=[DEFAULT_DB_ALIAS])
    # Checks are kept in sets: sort, most serious first, so the report reads the same on
    # every run.
    messages = sorted(
        (message for message in found if not message.is_silenced()),
        key=lambda message: (-message.level, message.id or ""),
    )
    errors = [m for m in messages if m.is_serious()] if production else []
    warnings = [m for m in messages if not (production and m.is_serious())]
    return Findings(errors=errors, warnings=warnings)
