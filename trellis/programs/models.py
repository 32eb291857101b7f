"""Programs as published, immutable versions: chapters (the story) and steps (the exercises)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from trellis.core.models import TimestampedModel, UUIDModel
from trellis.programs import translations


class StepKind(models.TextChoices):
    LESSON = "lesson", _("Lesson")
    EXERCISE = "exercise", _("Exercise")
    QUESTIONNAIRE = "questionnaire", _("Questionnaire")
    REFLECTION = "reflection", _("Reflection")


class PublishedVersionChanged(Exception):
    """Raised when code tries to change a published version, chapter or step.

    Patients' enrollments point at a version; changing it would change what people in
    the middle of a program see and make their records describe steps that no longer
    exist. Publish a new version instead.
    """


class PublishedQuerySet(models.QuerySet):
    """Rows of a published version: they may be created, read and deleted, never updated."""

    def update(self, **kwargs: object) -> int:
        raise PublishedVersionChanged(
            f"{self.model._meta.label} rows are part of a published version and never change"
        )


class PublishedModel(models.Model):
    """Refuses to save an existing row: a published version only ever gets new rows."""

    objects = PublishedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PublishedVersionChanged(
                f"{self._meta.label} {self.pk} is part of a published version and never changes"
            )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Any, values: Any, *, fetch_mode: Any = None
    ) -> Any:
        # A published row is shown in the reader's language where its version has a
        # translation; it is never saved again, so the English in the database stays.
        row = super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        return translations.localize(row)


class Program(TimestampedModel):
    """A program a clinic can enroll people in, across all its published versions."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ProgramVersion(PublishedModel, TimestampedModel):
    """One published, never-changing version of a program. Enrollments point here."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.TextField()
    language = models.CharField(max_length=16, default="en")
    conditions = models.JSONField(default=list)
    intended_use = models.JSONField(default=dict)
    checksum = models.CharField(max_length=64, help_text=_("SHA-256 of the pack's files."))
    source = models.JSONField(default=dict, help_text=_("The whole checked pack, for diffs."))
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["program__title", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="programs_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class Chapter(PublishedModel, UUIDModel):
    """A part of the story: an introduction, the skills it builds, and a closing reflection."""

    version = models.ForeignKey(ProgramVersion, on_delete=models.CASCADE, related_name="chapters")
    key = models.SlugField(max_length=80)
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    intro_html = models.TextField()
    closing_html = models.TextField(blank=True)
    skills = models.JSONField(default=list)
    min_days = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Days after the previous chapter opened before this one may open."),
    )

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="programs_chapter_key"),
            models.UniqueConstraint(fields=["version", "position"], name="programs_chapter_pos"),
        ]

    def __str__(self) -> str:
        return self.title


class Step(PublishedModel, UUIDModel):
    """One microintervention, lesson, questionnaire or reflection, in program order."""

    version = models.ForeignKey(ProgramVersion, on_delete=models.CASCADE, related_name="steps")
    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=80)
    position = models.PositiveSmallIntegerField(help_text=_("Order in the whole program."))
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    exercise = models.CharField(max_length=40, blank=True, help_text=_("Exercise kind."))
    title = models.CharField(max_length=200)
    minutes = models.PositiveSmallIntegerField()
    body_html = models.TextField(blank=True)
    hint = models.CharField(max_length=300, blank=True)
    prompt = models.TextField(blank=True)
    instrument = models.CharField(max_length=40, blank=True)
    settings = models.JSONField(default=dict)
    unlock = models.JSONField(default=dict)
    short_version_key = models.SlugField(max_length=80, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="programs_step_key"),
            models.UniqueConstraint(fields=["version", "position"], name="programs_step_pos"),
        ]

    def __str__(self) -> str:
        return self.title
