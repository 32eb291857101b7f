"""A clinic's reports as pages and CSV downloads: the index, one page per report.

Mounted at clinic/insights/reports/ (namespace "insights_reports"). Each page asks the
role guard (admins, supervisors and researchers; anyone else 403), then
`queries.access_report_clinic` for the clinic in the address (404 for a clinic where the
person holds no such role, or none at all), then reads the report through the queries, which
de-identify it for researchers. docs/insights-reports.md says what each report counts.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from trellis.accounts.guards import require_role
from trellis.core import timeutil
from trellis.core.dbrouter import reading_from_replica
from trellis.insights import queries, services
from trellis.insights.reports import catalog, charts
from trellis.insights.reports.catalog import Report
from trellis.insights.reports.privacy import SMALLEST_CELL
from trellis.insights.reports.retention import Curve
from trellis.insights.reports.tables import Kind, Table

QUERY_PARAMETERS = frozenset({"since"})


class BadParameter(ValueError):
    """A query parameter the page cannot use; its message says why."""


def parse_since(params: Any) -> date | None:
    """The `since` parameter (YYYY-MM-DD, or empty for no limit); unknown parameters and
    bad dates raise BadParameter."""
    unknown = sorted(set(params) - QUERY_PARAMETERS)
    if unknown:
        raise BadParameter(
            _("Unknown parameter %(names)s: the reports take only “since”.")
            % {"names": ", ".join(unknown)}
        )
    raw = (params.get("since") or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(_("“since” must be a date written as YYYY-MM-DD.")) from None
    if not timeutil.day_in_range(day) or len(raw) != 10:
        raise BadParameter(str(timeutil.DAY_RANGE_MESSAGE))
    return day


def _reader(request: HttpRequest, clinic: str) -> tuple[Any, queries.ReportAccess]:
    user = require_role(request, queries.REPORT_READERS, queries.READERS_ONLY)
    return user, queries.access_report_clinic(user, clinic)


def _reports(access: queries.ReportAccess) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "title": catalog.TITLES[name],
            "summary": catalog.SUMMARIES[name],
            "url": reverse("insights_reports:report", args=[access.clinic.slug, name]),
        }
        for name in catalog.NAMES
    ]


def _index(
    request: HttpRequest, access: queries.ReportAccess, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "clinic": access.clinic,
        "access": access,
        "reports": _reports(access),
        "error": error,
    }
    return render(request, "insights/reports/index.html", context, status=status)


@never_cache
@login_required
@require_GET
def index(request: HttpRequest, clinic: str) -> HttpResponse:
    """The clinic's reports, one line each."""
    _user, access = _reader(request, clinic)
    return _index(request, access)


# Showing a table --------------------------------------------------------------------------


def cell_text(value: Any, kind: Kind, digits: int) -> str:
    """A value as the page shows it."""
    if value is None:
        return "-"
    if kind == Kind.RATE:
        return f"{value:.0%}"
    if kind == Kind.NUMBER and isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def shown_rows(table: Table) -> list[list[dict[str, Any]]]:
    """Each row's cells as text, "fewer than 5" where suppressed."""
    hidden_text = _("fewer than %(n)s") % {"n": SMALLEST_CELL}
    rows = []
    for row, hidden in zip(table.rows, table.suppressed, strict=True):
        cells = []
        for n, column in enumerate(table.columns):
            suppressed = column.key in hidden
            cells.append(
                {
                    "text": hidden_text
                    if suppressed
                    else cell_text(row.get(column.key), column.kind, column.digits),
                    "header": n == 0,
                    "number": column.kind != Kind.TEXT,
                    "suppressed": suppressed,
                }
            )
        rows.append(cells)
    return rows


def csv_text(table: Table) -> str:
    """The table as CSV: column keys as the header, raw values, empty where suppressed or
    not known (the same values as the API's rows)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.column_keys())
    for record in table.records():
        writer.writerow(["" if record[k] is None else record[k] for k in table.column_keys()])
    return buffer.getvalue()


# Charts -----------------------------------------------------------------------------------


def _share(table: Table, row: int, key: str) -> tuple[float | None, str]:
    """A row's share for a bar, and its text (or what to say instead when there is none)."""
    if key in table.suppressed[row]:
        return None, _("fewer than %(n)s") % {"n": SMALLEST_CELL}
    value = table.rows[row].get(key)
    return (float(value), f"{value:.0%}") if value is not None else (None, _("not known"))


def visible_curve(curve: Curve) -> Curve | None:
    """A curve as a researcher may see it: only while 5 or more are still followed."""
    if curve.size < SMALLEST_CELL:
        return None
    keep = int((curve.at_risk >= SMALLEST_CELL).sum())
    return Curve(*(getattr(curve, f)[:keep] for f in Curve.__dataclass_fields__))


def report_charts(report: Report) -> list[dict[str, Any]]:
    """Each chart with its visible title."""
    return [{"title": title, "svg": svg} for title, svg in _charts(report) if svg]


def _charts(report: Report) -> list[tuple[str, SafeString]]:
    table = report.table
    found: list[tuple[str, SafeString]] = []
    if report.name == catalog.ENGAGEMENT:
        for key, title in (
            ("uptake", _("Uptake: used it after getting started")),
            ("reached_dose_rate", _("Reached the intended dose")),
        ):
            rows = [(str(r["program"]), *_share(table, n, key)) for n, r in enumerate(table.rows)]
            found.append((title, charts.bars(f"chart-{key}", title, rows)))
    elif report.name == catalog.RETENTION:
        by: dict[str, list[tuple[str, Curve]]] = {}
        for grouping, group, curve in report.chart.get("curves", []):
            shown = visible_curve(curve) if report.deidentified else curve
            if shown is not None:
                by.setdefault(grouping, []).append((group, shown))
        for n, (grouping, curves) in enumerate(by.items()):
            title = _("Still active, by %(grouping)s") % {"grouping": grouping.lower()}
            found.append((title, charts.retention(f"chart-retention-{n}", title, curves)))
    elif report.name == catalog.OUTCOMES:
        rows = [
            (f"{r['group']}", *_share(table, n, "recovery_rate"))
            for n, r in enumerate(table.rows)
            if r["grouping"] != _("Supporter")
        ]
        title = _("Recovery, against the national target of 50%")
        found.append((title, charts.bars("chart-recovery", title, rows, target=0.5)))
    elif report.name == catalog.WORKLOAD:
        hours = [
            None if "median_reply_hours" in hidden else r["median_reply_hours"]
            for r, hidden in zip(table.rows, table.suppressed, strict=True)
        ]
        top = max([h for h in hours if h is not None] or [1.0]) or 1.0
        rows = [
            (
                str(r["supporter"]),
                None if h is None else h / top,
                _("%(hours).1f hours") % {"hours": h}
                if h is not None
                else _("fewer than %(n)s replies") % {"n": SMALLEST_CELL}
                if "median_reply_hours" in hidden
                else _("no replies timed"),
            )
            for r, h, hidden in zip(table.rows, hours, table.suppressed, strict=True)
        ]
        title = _("Median reply time")
        found.append((title, charts.bars("chart-replies", title, rows)))
    elif report.name == catalog.PHENOTYPES:
        series = [
            (str(r["phenotype"]), [r[f"week_{w}"] for w in range(1, 9)])
            for n, r in enumerate(table.rows)
            if "size" not in table.suppressed[n] and r["size"]
        ]
        title = _("Active days a week, by phenotype")
        found.append((title, charts.weekly_lines("chart-phenotypes", title, series)))
    return found


@never_cache
@login_required
@require_GET
def report(request: HttpRequest, clinic: str, name: str) -> HttpResponse:
    """One report: what it counts, its chart, its table and the CSV download."""
    _user, access = _reader(request, clinic)
    if name not in catalog.NAMES:
        # After the access check, so the message tells nobody anything about the clinic.
        return _index(request, access, error=catalog.unknown_report_message(name), status=404)
    context: dict[str, Any] = {
        "clinic": access.clinic,
        "access": access,
        "name": name,
        "title": catalog.TITLES[name],
        "summary": catalog.SUMMARIES[name],
        "since": request.GET.get("since", ""),
        "index_url": reverse("insights_reports:index", args=[access.clinic.slug]),
    }
    try:
        since = parse_since(request.GET)
    except BadParameter as error:
        context["error"] = str(error)
        return render(request, "insights/reports/report.html", context, status=400)
    with reading_from_replica():
        found = queries.report(access, name, since=since, now=timeutil.now())
    csv_url = reverse("insights_reports:csv", args=[access.clinic.slug, name])
    if since is not None:
        csv_url += f"?since={since.isoformat()}"
    context.update(
        {
            "report": found,
            "columns": found.table.columns,
            "rows": shown_rows(found.table),
            "charts": report_charts(found),
            "csv_url": csv_url,
        }
    )
    return render(request, f"insights/reports/{name}.html", context)


@never_cache
@login_required
@require_GET
def report_csv(request: HttpRequest, clinic: str, name: str) -> HttpResponse:
    """The report's table as CSV."""
    user, access = _reader(request, clinic)
    if name not in catalog.NAMES:
        return HttpResponse(
            catalog.unknown_report_message(name),
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    try:
        since = parse_since(request.GET)
    except BadParameter as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    with reading_from_replica():
        found = queries.report(access, name, since=since, now=timeutil.now())
    services.record_report_export(
        access.clinic,
        actor=user,
        report=name,
        fmt="csv",
        rows=len(found.table.rows),
        deidentified=access.deidentified,
    )
    response = HttpResponse(csv_text(found.table), content_type="text/csv; charset=utf-8")
    filename = f"{access.clinic.slug}-{name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
