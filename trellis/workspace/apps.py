from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "trellis.workspace"
    label = "workspace"
    verbose_name = "Supporter's workspace"
