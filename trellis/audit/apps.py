from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trellis.audit"
    label = "audit"
    verbose_name = "Audit trail"
