"""How far the audit sealer is behind, read when Prometheus scrapes /metrics (registered
with trellis.core.metrics from AuditConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from trellis.audit import integrity


def sealer_lag_available() -> bool:
    """Whether this version seals the chain after commit (integrity.sealer_lag exists)."""
    return callable(getattr(integrity, "sealer_lag", None))


def read_sealer_lag(now: datetime) -> Iterator[Metric]:
    """Events committed but not yet chained, and how long the oldest has waited."""
    count, oldest_age_seconds = integrity.sealer_lag()  # type: ignore[attr-defined,unused-ignore]
    yield GaugeMetricFamily(
        "trellis_audit_unsealed_events",
        "Audit events committed but not yet sealed into the chain.",
        value=count,
    )
    yield GaugeMetricFamily(
        "trellis_audit_sealer_lag_seconds",
        "How long the oldest audit event not yet sealed has waited (0 when none waits).",
        value=oldest_age_seconds or 0,
    )
