from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "trellis.core"
    label = "core"
    verbose_name = "Trellis core"

    def ready(self) -> None:
        # Register the deployment checks that `trellis check` runs.
        from trellis.core import checks  # noqa: F401
