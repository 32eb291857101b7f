"""How far the audit sealer is behind, read when Prometheus scrapes /metrics (registered
with trellis.core.metrics from AuditConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from trellis.audit.sealer import sealer_lag


def read_sealer_lag(now: datetime) -> Iterator[Metric]:
    """Events committed but not yet linked into the chain, and how long the oldest has waited."""
    count, oldest_age_seconds = sealer_lag(now)
    yield GaugeMetricFamily(
        "trellis_audit_unsealed_events",
        "Audit events committed but not yet linked into the chain by the sealer.",
        value=count,
    )
    yield GaugeMetricFamily(
        "trellis_audit_sealer_lag_seconds",
        "How long the oldest audit event not yet linked has waited (0 when none waits).",
        value=oldest_age_seconds or 0,
    )
