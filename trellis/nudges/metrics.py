"""The reminders' metrics, read when Prometheus scrapes /metrics (registered with
trellis.core.metrics from NudgesConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from trellis.nudges.models import Delivery, DeliveryStatus

WINDOW = timedelta(hours=24)


def read_deliveries(now: datetime) -> Iterator[Metric]:
    """Deliveries of the last 24 hours by channel and status, and every one still queued."""
    recent = GaugeMetricFamily(
        "trellis_deliveries_last_24h",
        "Deliveries (reminders, texts, notifications) created in the last 24 hours.",
        labels=["channel", "status"],
    )
    rows = (
        Delivery.objects.filter(created_at__gte=now - WINDOW)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for channel, status, n in rows:
        recent.add_metric([channel, status], n)
    yield recent
    queued = GaugeMetricFamily(
        "trellis_deliveries_queued",
        "Deliveries waiting to be sent, whenever they were created.",
        labels=["channel"],
    )
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.QUEUED)
        .values_list("channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    for channel, n in rows:
        queued.add_metric([channel], n)
    yield queued
