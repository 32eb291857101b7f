"""Base model mixins shared by every Trellis app."""

from __future__ import annotations

import uuid

from django.db import models


class UUIDModel(models.Model):
    """A row identified by a random UUID, so identifiers leak no counts or order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimestampedModel(UUIDModel):
    """A UUID-keyed row that remembers when it was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PeriodicRun(models.Model):
    """One row per (job, period) that some clock has claimed.

    The unique constraint is what makes several clocks safe: only the clock whose
    insert succeeds enqueues the job for that period.
    """

    job = models.CharField(max_length=200)
    period_start = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "period_start"], name="core_periodicrun_once")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.period_start.isoformat()}"
