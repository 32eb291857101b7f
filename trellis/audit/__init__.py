"""The audit trail. Write with `audit.record(...)`; see trellis.audit.services."""

from typing import Any


def record(**kwargs: Any) -> Any:
    from trellis.audit.services import record as _record

    return _record(**kwargs)
