"""Dropout-risk models in use, the nightly scores, their outcomes and the monthly checks.

The hourly alert rules keep no tables of their own (alerts live in trellis.alerts).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.core.models import TimestampedModel


class RiskModel(TimestampedModel):
    """A trained dropout-risk model installed for one clinic: the files of its folder
    (`insights.risk.learn.Model`), kept as text, and its card. One is active per clinic."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=12)
    model_json = models.TextField()
    trees = models.TextField(blank=True)
    card = models.JSONField(default=dict)
    trained_on = models.CharField(
        max_length=200, help_text=_("Where its training data came from, in a few words.")
    )
    active = models.BooleanField(default=True)
    installed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(active=True),
                name="insights_one_active_model_per_clinic",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} model installed {self.installed_at:%Y-%m-%d}"


class RiskMethod(models.TextChoices):
    MODEL = "model", _("Model")
    RULES = "rules", _("Rules")


class RiskScore(TimestampedModel):
    """One enrollment's estimate on one night: the risk (none when only the rules apply),
    the reasons in plain words, and, 14 days later, what happened."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="risk_scores"
    )
    scored_on = models.DateField()
    scored_at = models.DateTimeField()
    as_of_day = models.PositiveIntegerField()
    method = models.CharField(max_length=8, choices=RiskMethod.choices)
    model = models.ForeignKey(
        RiskModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="scores"
    )
    risk = models.FloatField(null=True, blank=True)
    reasons = models.JSONField(default=list)
    # 1: no patient-initiated event in the 14 days after `scored_at`; 0: some; empty until
    # the 14 days have passed.
    dropped = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "scored_on"], name="insights_one_score_a_night"
            )
        ]
        indexes = [
            models.Index(fields=["scored_on", "dropped"], name="insights_score_by_day"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} on {self.scored_on}: {self.risk}"


class RiskSettings(TimestampedModel):
    """A clinic's settings for risk alerts (defaults when it has none)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="risk_settings"
    )
    daily_alerts_per_supporter = models.PositiveSmallIntegerField(
        default=5, help_text=_("Risk alerts a supporter gets a day, at most.")
    )
    alert_from = models.FloatField(
        default=0.5, help_text=_("Risk from which a patient may be pointed out (0 to 1).")
    )

    def __str__(self) -> str:
        return f"risk settings of {self.organization_id}"


class RiskCheck(TimestampedModel):
    """A monthly look at how the model's estimates turned out: does it still fit?"""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    model = models.ForeignKey(RiskModel, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField()
    period_from = models.DateField()
    period_until = models.DateField()
    scores = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True)
    ece = models.FloatField(null=True, blank=True)
    fits = models.BooleanField()
    findings = models.JSONField(default=list)

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"check of {self.model_id} on {self.checked_at:%Y-%m-%d}"
