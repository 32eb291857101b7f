from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "trellis.interop"
    label = "interop"
    verbose_name = "Interoperability and data rights"

    def ready(self) -> None:
        from trellis.interop.record import wording

        wording.register()
