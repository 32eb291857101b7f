"""Who may reach each core page and the API's own description (checked by
tests/test_authorization_matrix.py)."""

from __future__ import annotations

from tests.authorization.matrix import ALLOWED, NO_PATIENT_DATA, NOT_FOUND, Route, expect

ROUTES: list[Route] = [
    # Monitoring has no account; the report names no person and no setting.
    # The browser's own request for an icon: a redirect to a static file, for anyone.
    Route(
        "core:favicon",
        expect(ALLOWED),
        note="redirect to the static SVG icon",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "core:healthz",
        expect(ALLOWED),
        note="health of database and task queue",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "core:livez",
        expect(ALLOWED),
        note="liveness: the process answers; reads nothing",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "core:readyz",
        expect(ALLOWED),
        note="readiness: whether the database and task queue answer",
        reads=NO_PATIENT_DATA,
    ),
    # Prometheus metrics exist only with TRELLIS_METRICS_TOKEN set (not in tests), and then
    # only for a scraper that sends it; no account or API token ever opens them.
    Route(
        "core:metrics",
        expect(NOT_FOUND),
        note="metrics: 404 without TRELLIS_METRICS_TOKEN, 403 without the token",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "apidocs:page",
        expect(ALLOWED),
        note="The API's documentation, drawn from the OpenAPI document; it holds no data.",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "api:openapi-json",
        expect(ALLOWED),
        note="The schema describes endpoints; it holds no data.",
        reads=NO_PATIENT_DATA,
    ),
]
