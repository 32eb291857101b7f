from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def trellis(request: HttpRequest) -> dict[str, Any]:
    return {"TRELLIS_ENV": settings.TRELLIS_ENV}
