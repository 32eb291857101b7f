from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "trellis.core"
    label = "core"
    verbose_name = "Trellis core"

    def ready(self) -> None:
        # Register the deployment checks that `trellis check` runs.
        from django.core.signals import got_request_exception, request_finished

        from trellis.core import (
            checks,  # noqa: F401
            metrics,
        )
        from trellis.core.middleware import remember_uncaught_exception
        from trellis.core.requestid import clear_request_context

        # A database outage answers 503, wherever in a request it surfaces.
        got_request_exception.connect(
            remember_uncaught_exception, dispatch_uid="trellis.core.database_unavailable"
        )
        request_finished.connect(clear_request_context, dispatch_uid="trellis.core.request_id")
        # The task queue's depth and age, read at each scrape of /metrics.
        metrics.register_collector("task_queue", metrics.read_task_queue)
