"""The audit trail. Write with `audit.record(...)` (or `audit.record_with(...)` among the
rows an action writes together); see trellis.audit.services."""

from typing import Any


def record(**kwargs: Any) -> Any:
    from trellis.audit.services import record as _record

    return _record(**kwargs)


def record_with(together: Any, **kwargs: Any) -> Any:
    from trellis.audit.services import record_with as _record_with

    return _record_with(together, **kwargs)
