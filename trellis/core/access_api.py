"""Access to the API's own description."""

from trellis.core.matrix import ALLOWED, Route, expect

ROUTES = [
    Route(
        "api:openapi-json",
        expect(ALLOWED),
        note="The schema describes endpoints; it holds no data.",
    ),
]
