from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trellis.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Register the audit keys and anchor file checks that `trellis check` runs.
        from trellis.audit import checks  # noqa: F401
