"""Prometheus metrics: what operators watch (served at GET /metrics, see core.views).

Two kinds:

- Measured per request, in the process that answered: the latency histogram by route,
  method and status class. `trellis serve` runs several worker processes, so it points
  PROMETHEUS_MULTIPROC_DIR at a private folder it empties at start; prometheus_client then
  keeps each process's counts in a file there and a scrape, answered by any one process,
  adds up every process's files. Without that variable (the test suite, `runserver`) the
  counts live in this process only.
- Read at scrape time from the database: the task queue (here), and whatever the apps above
  core register with `register_collector` from their AppConfig.ready() (deliveries by
  channel and status, open alerts by severity, the audit sealer's lag). Core never imports
  them: each app brings its own reading, keeping the layers.

A collector that fails (the database out of reach, say) leaves its metrics out of that
scrape and sets `trellis_metrics_collector_up{collector=...}` to 0, so the rest still
arrive and the failure shows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.db import connection
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from trellis.core import health

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; 0.05 is the patient write path's p99 budget (docs/performance.md).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_LATENCY = Histogram(
    "trellis_http_request_duration_seconds",
    "Time from a request reaching Trellis to its answer, by URL pattern name.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
    registry=None,  # added to each scrape's registry (see exposition)
)
REQUESTS_SHED = Counter(
    "trellis_http_requests_shed",
    "Requests answered 503 at once because the process was at TRELLIS_MAX_IN_FLIGHT.",
    registry=None,
)
REQUESTS_DB_UNAVAILABLE = Counter(
    "trellis_http_requests_database_unavailable",
    "Requests answered 503 because the database could not be reached.",
    registry=None,
)
IN_PROCESS = (REQUEST_LATENCY, REQUESTS_SHED, REQUESTS_DB_UNAVAILABLE)

ScrapeReader = Callable[[datetime], Iterable[Metric]]
_readers: dict[str, ScrapeReader] = {}


def register_collector(name: str, read: ScrapeReader) -> None:
    """Add metrics read at scrape time. `read(now)` yields metric families (for example
    prometheus_client.core.GaugeMetricFamily). Call it from an AppConfig.ready(); a second
    registration under the same name replaces the first."""
    _readers[name] = read


def registered_collectors() -> list[str]:
    return sorted(_readers)


def method_label(method: str | None) -> str:
    """The request method as a label; anything unusual is "other" (labels stay few)."""
    upper = (method or "").upper()
    return upper if upper in METHODS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(route=route, method=method, status=status_class(status)).observe(seconds)


def multiprocess_dir() -> str:
    return os.environ.get(MULTIPROC_ENV, "")


class _ScrapeTime(Collector):
    """Runs every registered reader when scraped, each on its own."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "trellis_metrics_collector_up",
            "1 when the collector's reading succeeded in this scrape, 0 when it failed.",
            labels=["collector"],
        )
        for name in sorted(_readers):
            try:
                families = list(_readers[name](self.now))
            except Exception as exc:
                logger.warning("metrics collector %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def exposition(*, now: datetime) -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        for metric in IN_PROCESS:
            registry.register(metric)
    registry.register(_ScrapeTime(now))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def read_task_queue(now: datetime) -> Iterator[Metric]:
    """The database task queue: tasks waiting, ready, running, and the oldest ready one's age."""
    status = health.task_queue_status(connection, now=now)
    if status["status"] != "ok":
        raise RuntimeError(f"task queue unreadable: {status.get('error', '')}")
    for key, name, text in (
        ("pending", "trellis_task_queue_pending", "Tasks waiting in the database queue."),
        ("ready", "trellis_task_queue_ready", "Tasks that could run now."),
        ("running", "trellis_task_queue_running", "Tasks a worker is running."),
    ):
        yield GaugeMetricFamily(name, text, value=status[key])
    yield GaugeMetricFamily(
        "trellis_task_queue_oldest_ready_age_seconds",
        "How long the oldest task that could run now has waited (0 when none waits).",
        value=status["oldest_ready_age_s"] or 0,
    )
