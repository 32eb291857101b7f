"""Reading published programs. Programs are shared content, the same for every clinic."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from trellis.programs.models import Program, ProgramVersion


def latest_version(slug: str) -> ProgramVersion | None:
    """The newest published version of the program, or None if it was never published."""
    return (
        ProgramVersion.objects.filter(program__slug=slug)
        .select_related("program")
        .order_by("-number")
        .first()
    )


def version(slug: str, number: int) -> ProgramVersion | None:
    """One published version of a program by its number."""
    return (
        ProgramVersion.objects.filter(program__slug=slug, number=number)
        .select_related("program")
        .first()
    )


def programs_with_versions() -> QuerySet[Program]:
    """Every program with its versions (newest first) and each version's step count."""
    from django.db.models import Prefetch

    versions = (
        ProgramVersion.objects.select_related("published_by")
        .annotate(step_count=Count("steps"))
        .order_by("-number")
    )
    return Program.objects.order_by("slug").prefetch_related(Prefetch("versions", versions))
