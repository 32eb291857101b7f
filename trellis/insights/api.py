"""A clinic's reports as JSON: GET /api/v1/insights/reports/{clinic}/{report}.

The same rules as the pages (trellis/insights/report_views.py): a signed-in admin or
supervisor of the clinic reads everything, a researcher de-identified aggregates
(supporters unnamed, counts below 5 null and listed in the row's `suppressed`); coaches,
therapists and patients 403; a clinic where the person holds no such role 404; integration
tokens 403 (reports need a person). The rows are the same values as the CSV download.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from trellis.accounts.api import session_user
from trellis.accounts.guards import holds_role
from trellis.core import timeutil
from trellis.core.dbrouter import reading_from_replica
from trellis.core.schemas import refusals
from trellis.insights import queries, services
from trellis.insights.reports import catalog

router = Router(tags=["insights"])


class ColumnOut(Schema):
    key: str
    label: str
    kind: str = Field(..., description="text, count, rate (0 to 1) or number")


class ReportOut(Schema):
    clinic: str
    report: str
    title: str
    deidentified: bool = Field(
        ..., description="True for researchers: supporters unnamed, counts below 5 null."
    )
    period_from: date | None = Field(None, description="The first day counted; null for all.")
    columns: list[ColumnOut]
    rows: list[dict[str, Any]] = Field(
        ...,
        description="One object per row, keyed by column, and `suppressed`: the keys "
        "hidden (null) because a count was below 5.",
    )
    notes: list[str]


class ReportQuery(Schema):
    since: date | None = Field(
        None,
        description="Enrollments started on or after this day (workload: counted from this "
        "day; default the last 28 days). YYYY-MM-DD.",
    )


@router.get(
    "/reports/{clinic}/{report}",
    response={200: ReportOut, **refusals(401, 403, 404, 422)},
    summary="One of a clinic's reports",
)
def report(request: HttpRequest, clinic: str, report: str, query: Query[ReportQuery]) -> ReportOut:
    user = session_user(request)
    if not holds_role(user, queries.REPORT_READERS):
        raise HttpError(403, str(queries.READERS_ONLY))
    access = queries.access_report_clinic(user, clinic)
    if report not in catalog.NAMES:
        raise HttpError(404, catalog.unknown_report_message(report))
    if query.since is not None and not timeutil.day_in_range(query.since):
        raise HttpError(422, str(timeutil.DAY_RANGE_MESSAGE))
    with reading_from_replica():
        found = queries.report(access, report, since=query.since, now=timeutil.now())
    services.record_report_export(
        access.clinic,
        actor=user,
        report=report,
        fmt="json",
        rows=len(found.table.rows),
        deidentified=access.deidentified,
    )
    return ReportOut(
        clinic=access.clinic.slug,
        report=report,
        title=str(found.title),
        deidentified=found.deidentified,
        period_from=found.period_from,
        columns=[
            ColumnOut(key=c.key, label=str(c.label), kind=str(c.kind)) for c in found.table.columns
        ],
        rows=found.table.records(),
        notes=[str(n) for n in found.notes] or [],
    )
