"""API endpoints for the audit trail."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["audit"])
