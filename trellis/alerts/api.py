"""Alerts as JSON: the list (with the inbox's filters) and acknowledging, resolving and
dismissing one alert. The same rules as the pages: clinical staff (and admins handed an
alert) only, patients and researchers 403, integration tokens 403, an alert outside the
caller's reach 404. Safety alerts keep their stricter rule on who may act."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.alerts import queries, services
from trellis.alerts.models import Alert, AlertKind, AlertState, Severity
from trellis.alerts.safety import AlertNotOpen
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.core import timeutil
from trellis.core.schemas import NOT_BLANK, OneOf, RequestBody, refusals

router = Router(tags=["alerts"])
MAX_LIST = 500


class AlertOut(Schema):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    patient_name: str
    kind: AlertKind
    severity: Severity
    state: AlertState
    reason: str
    data: dict[str, Any]
    raised_at: datetime
    assigned_to: str | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    close_reason: str

    @staticmethod
    def of(alert: Alert) -> AlertOut:
        return AlertOut(
            id=alert.pk,
            enrollment_id=alert.enrollment_id,
            patient_name=alert.enrollment.patient.full_name,
            kind=AlertKind(alert.kind),
            severity=Severity(alert.severity),
            state=AlertState(alert.state),
            reason=alert.reason,
            data=alert.data,
            raised_at=alert.raised_at,
            assigned_to=alert.assigned_to.display_name if alert.assigned_to else None,
            acknowledged_at=alert.acknowledged_at,
            closed_at=alert.closed_at,
            close_reason=alert.close_reason,
        )


class AlertFiltersIn(Schema):
    kind: Annotated[str, OneOf(("", *AlertKind.values))] = Field(
        "", description="One alert kind, or blank for any."
    )
    severity: Annotated[str, OneOf(("", *Severity.values))] = Field(
        "", description="urgent, high, medium or low; blank for any."
    )
    state: Annotated[str, OneOf(("", "live", *AlertState.values))] = Field(
        "live",
        description="open, acknowledged, resolved, dismissed, live (open or "
        "acknowledged) or blank for any.",
    )
    supporter: uuid.UUID | None = Field(None, description="Supervisors: one supporter's caseload.")


class AlertNoteIn(RequestBody):
    note: str = Field("", max_length=2000, description="What was done (safety alerts: required).")


class DismissIn(RequestBody):
    reason: str = Field(
        ...,
        max_length=300,
        description="Why the alert was not needed.",
        json_schema_extra=NOT_BLANK,
    )
    note: str = Field("", max_length=2000)


def _staff(request: HttpRequest) -> User:
    user = session_user(request)
    if not queries.uses_alerts(user):
        raise PermissionDenied(_("Alerts are for the clinic's clinical staff."))
    return user


def _bad(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


@router.get(
    "",
    response={200: list[AlertOut], **refusals(401, 403, 422)},
    summary="Alerts in reach, most urgent first",
)
def list_alerts(request: HttpRequest, filters: Query[AlertFiltersIn]) -> list[AlertOut]:
    user = _staff(request)
    if filters.kind and filters.kind not in AlertKind.values:
        raise _bad("kind", f"Unknown kind {filters.kind!r}.")
    if filters.severity and filters.severity not in Severity.values:
        raise _bad("severity", f"Unknown severity {filters.severity!r}.")
    if filters.state and filters.state not in (*AlertState.values, "live"):
        raise _bad("state", f"Unknown state {filters.state!r}.")
    supporter = None
    if filters.supporter is not None:
        supporter = queries.supporter_to_filter_by(user, filters.supporter)
        if supporter is None:
            raise _bad("supporter", "Not a supporter whose caseload you supervise.")
    alerts = queries.filtered_alerts(
        user,
        queries.AlertFilters(
            kind=filters.kind, severity=filters.severity, state=filters.state, supporter=supporter
        ),
    )
    shown = list(alerts[:MAX_LIST])
    note_read(
        actor=user,
        what=Read.ALERTS,
        via="api",
        patients=[alert.enrollment.patient_id for alert in shown],
        details={"alerts": len(shown)},
    )
    return [AlertOut.of(alert) for alert in shown]


def _act(request: HttpRequest, alert_id: uuid.UUID) -> tuple[User, Alert]:
    user = _staff(request)
    alert = queries.access_alert(user, alert_id)
    if not queries.may_handle(user, alert):
        raise PermissionDenied(_("You may not act on this alert."))
    return user, alert


def _closed(alert: Alert) -> AlertOut:
    return AlertOut.of(queries.access_alert_any(alert.pk))


@router.post(
    "/{alert_id}/acknowledge",
    response={200: AlertOut, **refusals(400, 401, 403, 404, 409, 422)},
    summary="Take an alert on",
)
def acknowledge(request: HttpRequest, alert_id: uuid.UUID, payload: AlertNoteIn) -> AlertOut:
    user, alert = _act(request, alert_id)
    try:
        done = services.acknowledge_alert(alert, actor=user, note=payload.note, now=timeutil.now())
    except AlertNotOpen as error:
        raise HttpError(409, " ".join(error.messages)) from None
    return _closed(done)


@router.post(
    "/{alert_id}/resolve",
    response={200: AlertOut, **refusals(400, 401, 403, 404, 409, 422)},
    summary="Close an alert as resolved",
)
def resolve(request: HttpRequest, alert_id: uuid.UUID, payload: AlertNoteIn) -> AlertOut:
    user, alert = _act(request, alert_id)
    try:
        done = services.close_alert(
            alert, actor=user, state=AlertState.RESOLVED, note=payload.note, now=timeutil.now()
        )
    except AlertNotOpen as error:
        raise HttpError(409, " ".join(error.messages)) from None
    return _closed(done)


@router.post(
    "/{alert_id}/dismiss",
    response={200: AlertOut, **refusals(400, 401, 403, 404, 409, 422)},
    summary="Close an alert as not needed, with why",
)
def dismiss(request: HttpRequest, alert_id: uuid.UUID, payload: DismissIn) -> AlertOut:
    user, alert = _act(request, alert_id)
    try:
        done = services.close_alert(
            alert,
            actor=user,
            state=AlertState.DISMISSED,
            note=payload.note,
            reason=payload.reason,
            now=timeutil.now(),
        )
    except AlertNotOpen as error:
        raise HttpError(409, " ".join(error.messages)) from None
    return _closed(done)
