from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class AuditConfig(AppConfig):
    name = "trellis.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Register the audit keys and anchor file checks that `trellis check` runs.
        from trellis.audit import (
            checks,  # noqa: F401
            metrics,
            sealer,
        )
        from trellis.core import metrics as core_metrics
        from trellis.core import periodic

        # Every clock links committed events into the chain every few seconds.
        periodic.register_duty(
            sealer.seal_pending,
            every=timedelta(seconds=settings.TRELLIS_AUDIT_SEAL_SECONDS),
            name="audit.seal",
        )
        # The sealer's lag at each scrape of /metrics.
        core_metrics.register_collector("audit_sealer", metrics.read_sealer_lag)
