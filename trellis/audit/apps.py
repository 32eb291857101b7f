from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trellis.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Register the audit keys and anchor file checks that `trellis check` runs.
        from trellis.audit import (
            checks,  # noqa: F401
            metrics,
        )
        from trellis.core import metrics as core_metrics

        # The sealer's lag at each scrape of /metrics, once the chain is sealed after commit.
        if metrics.sealer_lag_available():
            core_metrics.register_collector("audit_sealer", metrics.read_sealer_lag)
