"""The nightly dropout-risk run: scores, alerts within each supporter's capacity, outcomes
and the monthly check that the model still fits.

- **Who is scored**: active enrollments of a clinic whose patient's yes in force is to an
  automated-features text that describes the estimate (`care.consent.agreed_to_the_model`).
- **With what**: the clinic's active model (`RiskModel`, installed with `trellis model
  install` or trained on its own export). A clinic without one is told so on its model
  page; its patients get a score row with `method = rules` and no risk, and the hourly
  alert rules (inactivity and the rest) are what point supporters to them.
- **Alerts**: from the night's model scores at or above the clinic's `alert_from`, highest
  first, among patients not already in contact (no live alert, no message from the care
  team in the last 3 days, no session booked within the next 3 days), each supporter gets
  at most `daily_alerts_per_supporter` risk alerts a day, each with its reasons.
- **Outcomes**: 14 days after a score, whether the patient did anything is recorded on it.
- **The monthly check** compares the last month's outcomes with the estimates: the AUC and
  the calibration error against the card's; when they drift, the clinic's administrators
  are told in Trellis.

docs/insights-scoring.md tells the whole story.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import translation
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, Role, User
from trellis.alerts.models import Alert, AlertKind, Severity
from trellis.alerts.services import LIVE_STATES, raise_alert
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care import consent
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus
from trellis.core import timeutil
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent
from trellis.insights.models import RiskCheck, RiskMethod, RiskModel, RiskScore, RiskSettings
from trellis.insights.risk import card, features, interchange, learn
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.nudges.models import Channel
from trellis.nudges.services import queue_nudge

IN_CONTACT_DAYS = 3
DRIFT_AUC = 0.05  # the check says "does not fit" when the AUC falls this far below the card's
DRIFT_ECE = 0.05  # or the calibration error passes this
MIN_CHECKED = 100  # fewer outcomes than this in a month: too few to judge


def settings_of(organization: Organization) -> RiskSettings:
    found = RiskSettings.objects.filter(organization=organization).first()
    return found or RiskSettings(organization=organization)


def active_model(organization: Organization) -> RiskModel | None:
    return RiskModel.objects.filter(organization=organization, active=True).first()


# --- the data, as the interchange format ---------------------------------------------


def frames(enrollments: list[Enrollment]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The events and enrollments of these enrollments as the interchange format's tables
    (with the baseline PHQ-9 and GAD-7 and the eHEALS total where answered)."""
    ids = [e.pk for e in enrollments]
    first_scores: dict[tuple[Any, str], int | None] = {}
    for enrollment_id, instrument, total in (
        QuestionnaireResponse.objects.filter(
            enrollment_id__in=ids, instrument__in=["PHQ-9", "GAD-7", "eHEALS"], total__isnull=False
        )
        .order_by("submitted_at")
        .values_list("enrollment_id", "instrument", "total")
    ):
        first_scores.setdefault((enrollment_id, instrument), total)
    people = pl.DataFrame(
        {
            "enrollment_id": [str(e.pk) for e in enrollments],
            "started_at": [e.started_at for e in enrollments],
            "support_level": [e.support_level for e in enrollments],
            "baseline_phq9": [first_scores.get((e.pk, "PHQ-9")) for e in enrollments],
            "baseline_gad7": [first_scores.get((e.pk, "GAD-7")) for e in enrollments],
            "ehealth_literacy": [first_scores.get((e.pk, "eHEALS")) for e in enrollments],
            "ended_at": [e.ended_at for e in enrollments],
            "end_reason": ["" for _ in enrollments],
            "age_band": ["" for _ in enrollments],
            "sex": ["" for _ in enrollments],
        },
        schema_overrides={
            "started_at": interchange.UTC,
            "ended_at": interchange.UTC,
            "baseline_phq9": pl.Int64,
            "baseline_gad7": pl.Int64,
            "ehealth_literacy": pl.Int64,
        },
    )
    rows = list(
        EngagementEvent.objects.filter(enrollment_id__in=ids)
        .order_by("id")
        .values_list("enrollment_id", "occurred_at", "type", "step_kind", "duration_s", "value")
    )
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 6
    events = pl.DataFrame(
        {
            "enrollment_id": [str(v) for v in columns[0]],
            "occurred_at": list(columns[1]),
            "type": list(columns[2]),
            "step_kind": list(columns[3]),
            "duration_s": list(columns[4]),
            "value": list(columns[5]),
        },
        schema={
            "enrollment_id": pl.String,
            "occurred_at": interchange.UTC,
            "type": pl.String,
            "step_kind": pl.String,
            "duration_s": pl.Int64,
            "value": pl.String,
        },
    )
    return events, people


# --- scoring -------------------------------------------------------------------------


@dataclass
class NightOutcome:
    scored: int = 0
    by_rules: int = 0
    alerts: int = 0
    skipped_no_consent: int = 0


def as_of_day(enrollment: Enrollment, now: datetime) -> int:
    """Whole days since the start: the last day that has ended."""
    return max(int((now - enrollment.started_at).total_seconds() // 86_400), 0)


@transaction.atomic
def score_clinic(organization: Organization, *, now: datetime) -> NightOutcome:
    """Score every active, consenting enrollment of one clinic for tonight (again: a second
    run the same night replaces that night's scores), then raise the night's risk alerts."""
    outcome = NightOutcome()
    enrollments = list(
        Enrollment.objects.filter(organization=organization, status=EnrollmentStatus.ACTIVE)
    )
    agreed = consent.agreed_to_the_model({e.patient_id for e in enrollments})
    outcome.skipped_no_consent = sum(1 for e in enrollments if e.patient_id not in agreed)
    enrollments = [e for e in enrollments if e.patient_id in agreed and as_of_day(e, now) >= 1]
    tonight = timeutil.ensure_aware(now).date()
    RiskScore.objects.filter(enrollment__organization=organization, scored_on=tonight).delete()
    installed = active_model(organization)
    rows: list[RiskScore] = []
    if installed is None:
        for enrollment in enrollments:
            rows.append(
                RiskScore(
                    enrollment=enrollment,
                    scored_on=tonight,
                    scored_at=now,
                    as_of_day=as_of_day(enrollment, now),
                    method=RiskMethod.RULES,
                )
            )
        outcome.by_rules = len(rows)
    elif enrollments:
        model = learn.Model.from_texts(installed.model_json, installed.trees)
        events, people = frames(enrollments)
        by_id = {str(e.pk): e for e in enrollments}
        days = people.with_columns(
            as_of_day=pl.Series([as_of_day(by_id[i], now) for i in people["enrollment_id"]])
        )
        for day in sorted(set(days["as_of_day"].to_list())):
            cohort = days.filter(pl.col("as_of_day") == day).drop("as_of_day")
            found = features.at_day(events, cohort, day)
            # The reasons are kept in the clinic's language, the one its staff read.
            with translation.override(organization.locale or None):
                risks, words = learn.explain(model, found)
            for enrollment_id, risk, reasons in zip(
                found["enrollment_id"].to_list(), risks, words, strict=True
            ):
                rows.append(
                    RiskScore(
                        enrollment=by_id[enrollment_id],
                        scored_on=tonight,
                        scored_at=now,
                        as_of_day=day,
                        method=RiskMethod.MODEL,
                        model=installed,
                        risk=round(float(risk), 4),
                        reasons=reasons,
                    )
                )
    RiskScore.objects.bulk_create(rows)
    outcome.scored = len(rows)
    if installed is not None:
        outcome.alerts = len(raise_risk_alerts(organization, rows, now=now))
    return outcome


def _in_contact(enrollment_ids: list[Any], now: datetime) -> set[Any]:
    """Enrollments someone is already with: a live alert, a message from the care team in
    the last days, or a session booked soon."""
    since, until = now - timedelta(days=IN_CONTACT_DAYS), now + timedelta(days=IN_CONTACT_DAYS)
    live = Alert.objects.filter(enrollment_id=OuterRef("pk"), state__in=LIVE_STATES)
    wrote = Message.objects.filter(
        thread__enrollment_id=OuterRef("pk"), from_patient=False, sent_at__gte=since
    )
    booked = Appointment.objects.filter(
        enrollment_id=OuterRef("pk"),
        status=AppointmentStatus.BOOKED,
        starts_at__gte=now,
        starts_at__lte=until,
    )
    return set(
        Enrollment.objects.filter(pk__in=enrollment_ids)
        .filter(Q(Exists(live)) | Q(Exists(wrote)) | Q(Exists(booked)))
        .values_list("pk", flat=True)
    )


def raise_risk_alerts(
    organization: Organization, scores: list[RiskScore], *, now: datetime
) -> list[Alert]:
    """Risk alerts for the night's highest model scores, within each supporter's daily
    capacity, among patients nobody is with yet."""
    chosen = settings_of(organization)
    high = [
        s for s in scores if s.method == RiskMethod.MODEL and (s.risk or 0) >= chosen.alert_from
    ]
    if not high:
        return []
    busy = _in_contact([s.enrollment_id for s in high], now)
    supporters: dict[Any, Any] = {}
    for member in CareTeamMember.objects.filter(
        enrollment_id__in=[s.enrollment_id for s in high], active=True
    ).order_by("role", "created_at"):
        supporters.setdefault(member.enrollment_id, member.supporter_id)
    already: dict[Any, int] = defaultdict(int)
    for assigned in Alert.objects.filter(
        organization=organization,
        kind=AlertKind.DROPOUT_RISK,
        raised_at__gte=now - timedelta(hours=24),
    ).values_list("assigned_to_id", flat=True):
        already[assigned] += 1
    users = {u.pk: u for u in User.objects.filter(pk__in=set(supporters.values()))}
    raised = []
    for score in sorted(high, key=lambda s: -(s.risk or 0)):
        supporter = supporters.get(score.enrollment_id)
        if score.enrollment_id in busy or supporter is None:
            continue
        if already[supporter] >= chosen.daily_alerts_per_supporter:
            continue
        with translation.override(organization.locale or None):
            reason = _("%(risk)s chance of no activity in the next 14 days") % {
                "risk": f"{score.risk or 0:.0%}"
            }
        if score.reasons:
            reason += ": " + "; ".join(score.reasons)
        alert = raise_alert(
            score.enrollment,
            kind=AlertKind.DROPOUT_RISK,
            severity=Severity.MEDIUM,
            reason=reason,
            data={
                "risk": score.risk,
                "reasons": score.reasons,
                "model": str(score.model_id),
                "score": str(score.pk),
                "as_of_day": score.as_of_day,
            },
            assigned_to=users[supporter],
            now=now,
        )
        if alert is not None:
            already[supporter] += 1
            raised.append(alert)
    return raised


def score_all(*, now: datetime) -> dict[str, int]:
    """Tonight's run for every clinic."""
    totals: dict[str, int] = defaultdict(int)
    for organization in Organization.objects.all():
        night = score_clinic(organization, now=now)
        totals["scored"] += night.scored
        totals["by_rules"] += night.by_rules
        totals["alerts"] += night.alerts
        totals["no_consent"] += night.skipped_no_consent
    return dict(totals)


# --- what happened, and whether the model still fits ---------------------------------


def record_outcomes(*, now: datetime) -> int:
    """On every score whose 14 days have passed, whether the patient did anything: the same
    window the model learned to predict, the 14 days from the end of the score's as-of day
    (`started_at` + D days), so the monthly check compares like with like."""
    due = RiskScore.objects.filter(
        dropped__isnull=True, scored_at__lte=now - timedelta(days=features.HORIZON_DAYS)
    ).select_related("enrollment")
    count = 0
    for found in due.iterator():
        start = found.enrollment.started_at + timedelta(days=found.as_of_day)
        did = EngagementEvent.objects.filter(
            enrollment_id=found.enrollment_id,
            type__in=list(PATIENT_INITIATED),
            occurred_at__gte=start,
            occurred_at__lt=start + timedelta(days=features.HORIZON_DAYS),
        ).exists()
        RiskScore.objects.filter(pk=found.pk).update(dropped=0 if did else 1)
        count += 1
    return count


@transaction.atomic
def check_model(organization: Organization, *, now: datetime) -> RiskCheck | None:
    """Compare the last 30 days' known outcomes with the estimates of the active model; tell
    the clinic's administrators when it no longer fits."""
    installed = active_model(organization)
    if installed is None:
        return None
    until = timeutil.ensure_aware(now).date() - timedelta(days=features.HORIZON_DAYS)
    since = until - timedelta(days=30)
    pairs = list(
        RiskScore.objects.filter(
            model=installed, dropped__isnull=False, scored_on__gt=since, scored_on__lte=until
        ).values_list("risk", "dropped")
    )
    risks = np.array([r for r, _ in pairs], dtype=float)
    labels = np.array([d for _, d in pairs], dtype=int)
    findings: list[str] = []
    auc = card.auc(labels, risks) if len(pairs) else None
    ece = card.ece(labels, risks) if len(pairs) else None
    expected_auc = (installed.card.get("test") or {}).get("auc")
    if len(pairs) < MIN_CHECKED:
        findings.append(f"only {len(pairs)} known outcomes: too few to judge")
    else:
        if auc is not None and expected_auc is not None and auc < expected_auc - DRIFT_AUC:
            findings.append(f"AUC {auc:.3f}, against {expected_auc:.3f} on its card")
        if ece is not None and ece > DRIFT_ECE:
            findings.append(f"calibration error {ece:.3f}, above {DRIFT_ECE:.2f}")
    fits = len(pairs) < MIN_CHECKED or not findings
    check = RiskCheck.objects.create(
        organization=organization,
        model=installed,
        checked_at=now,
        period_from=since + timedelta(days=1),
        period_until=until,
        scores=len(pairs),
        auc=auc,
        ece=ece,
        fits=fits,
        findings=findings,
    )
    audit.record(
        action="insights.model_checked",
        actor=None,
        actor_label="trellis",
        subject=check,
        organization=organization.pk,
        details={"scores": len(pairs), "fits": fits, "auc": auc, "ece": ece},
        at=now,
    )
    if not fits:
        _tell_administrators(organization, check, now=now)
    return check


def _tell_administrators(organization: Organization, check: RiskCheck, *, now: datetime) -> None:
    admins = User.objects.filter(
        memberships__organization=organization,
        memberships__role=Role.ADMIN,
        memberships__is_active=True,
    ).distinct()
    for admin in admins:
        queue_nudge(
            recipient=admin,
            organization=organization,
            template="model_drift",
            context={"findings": check.findings[:3]},
            key=f"model_drift:{check.pk}:{admin.pk}",
            channels=[Channel.IN_APP],
            not_before=now,
            transactional=True,
        )


def check_all(*, now: datetime) -> int:
    return sum(1 for o in Organization.objects.all() if check_model(o, now=now) is not None)


# --- installing a model --------------------------------------------------------------


@transaction.atomic
def install(
    organization: Organization,
    model: learn.Model,
    *,
    trained_on: str,
    actor: User | None,
    now: datetime,
) -> RiskModel:
    """Make `model` the clinic's active model (the one before stays, inactive, with its
    scores). Refuses a model whose card shows fewer than 500 enrollments."""
    enrollments = int((model.card.get("data") or {}).get("enrollments") or 0)
    if enrollments < learn.MIN_ENROLLMENTS:
        raise learn.TooFew(
            f"the model learned from {enrollments} enrollments; a clinic's model needs at "
            f"least {learn.MIN_ENROLLMENTS}"
        )
    RiskModel.objects.filter(organization=organization, active=True).update(active=False)
    texts = model.texts()
    installed = RiskModel.objects.create(
        organization=organization,
        kind=model.kind,
        model_json=texts["model.json"],
        trees=texts.get("trees.txt", ""),
        card=model.card,
        trained_on=trained_on[:200],
        installed_at=now,
    )
    audit.record(
        action="insights.model_installed",
        actor=actor,
        actor_label="" if actor else "trellis model install",
        subject=installed,
        organization=organization.pk,
        details={"kind": model.kind, "enrollments": enrollments, "trained_on": trained_on[:200]},
        at=now,
    )
    return installed


def past_enrollments(organization: Organization) -> int:
    """How many of the clinic's enrollments a model could learn from (started at least 15
    days ago)."""
    return Enrollment.objects.filter(
        organization=organization, started_at__lte=timeutil.now() - timedelta(days=15)
    ).count()
