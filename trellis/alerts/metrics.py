"""Open alerts by severity, read when Prometheus scrapes /metrics (registered with
trellis.core.metrics from AlertsConfig.ready()). Counts only: no patient, no clinic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from trellis.alerts.models import Alert, AlertState, Severity


def read_open_alerts(now: datetime) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "trellis_alerts_open",
        "Alerts open (not yet acknowledged), by severity.",
        labels=["severity"],
    )
    counts = dict(
        Alert.objects.filter(state=AlertState.OPEN)
        .values_list("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for severity in Severity.values:  # every severity, 0 included, so alert rules can compare
        family.add_metric([severity], counts.get(severity, 0))
    yield family
