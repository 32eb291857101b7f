"""Who may reach each core page (checked by the authorization matrix)."""

from __future__ import annotations

from trellis.core.matrix import ALLOWED, Route, expect

ROUTES: list[Route] = [
    # Monitoring has no account; the report names no person and no setting.
    Route("core:healthz", expect(ALLOWED), note="health of database and task queue"),
]
