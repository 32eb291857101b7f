"""What every resource type's source shares: the clinic asked about, what a read or a
search found, and the generic search over one table.

A source answers three questions for one resource type, always inside one clinic:
`read` (one id), `search` (a parsed query, one page) and `iterate` (everything, for a bulk
export or a patient's own download). Each answer carries the ids of the patients whose data
it holds, which is what the disclosure written for it names.
"""

from __future__ import annotations

import functools
import itertools
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.db.models import Model, Q, QuerySet

from trellis.accounts.models import Organization
from trellis.core import timeutil
from trellis.interop.fhir.search import DATE, REFERENCE, TOKEN, DateRange, Query, Token

BATCH = 500  # rows rendered together while streaming (one query per batch for related rows)
NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Context:
    """For whom resources are made: one clinic, and whether message text may go out."""

    organization: Organization
    include_message_text: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return timeutil.zone(self.organization.time_zone)


@dataclass(frozen=True)
class Found:
    """One resource and the patients whose data it carries."""

    resource: dict[str, Any]
    patient_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Page:
    """One page of a search: how many match in all, and this page's resources."""

    total: int
    found: list[Found] = field(default_factory=list)


def uuids(values: Iterable[Any]) -> list[uuid.UUID]:
    """The values that are UUIDs (an id that is not one matches nothing, never an error)."""
    found: list[uuid.UUID] = []
    for value in values:
        try:
            found.append(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def any_of(parts: Iterable[Q]) -> Q:
    found = list(parts)
    return functools.reduce(operator.or_, found) if found else NOTHING


def status_q(path: str, mapping: Mapping[str, Sequence[str]], token: Token) -> Q:
    """A FHIR status code as the model's statuses that show as it."""
    values = mapping.get(token.code)
    return Q(**{f"{path}__in": list(values)}) if values else NOTHING


class Source:
    """One resource type: the parameters it can be searched by (name -> kind), and its
    reads. Subclasses say how; the CapabilityStatement lists exactly `params`."""

    resource_type: ClassVar[str]
    params: ClassVar[dict[str, str]]
    documentation: ClassVar[dict[str, str]] = {}
    # A reference parameter's target type ("patient" -> "Patient").
    targets: ClassVar[dict[str, str]] = {}
    # In the patient's compartment: exported per patient and in their own download.
    about_patients: ClassVar[bool] = True

    def read(self, ctx: Context, ident: str) -> Found | None:
        raise NotImplementedError

    def search(self, ctx: Context, query: Query) -> Page:
        raise NotImplementedError

    def iterate(
        self, ctx: Context, *, patient_ids: set[str] | None, since: datetime | None
    ) -> Iterator[Found]:
        raise NotImplementedError


class RowSource(Source):
    """A resource type made from the rows of one table (one row, one resource)."""

    patient_path: ClassVar[str] = ""  # the lookup to the patient's id ("" if none)
    updated_path: ClassVar[str] = "updated_at"
    order: ClassVar[tuple[str, ...]] = ("created_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        raise NotImplementedError

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        raise NotImplementedError

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        """Each supported parameter (besides _id, _lastUpdated and patient) -> one value's Q."""
        return {}

    def _q(self, ctx: Context, name: str, value: Any) -> Q:
        if name == "_id":
            return Q(pk__in=uuids([value]))
        if name == "_lastUpdated" and isinstance(value, DateRange):
            return value.q(self.updated_path)
        if name in ("patient", "subject") and self.patient_path:
            return Q(**{f"{self.patient_path}__in": uuids([value])})
        return self.filters(ctx)[name](value)

    def matching(self, ctx: Context, query: Query) -> QuerySet[Any]:
        rows = self.rows(ctx)
        for criterion in query.criteria:
            rows = rows.filter(any_of(self._q(ctx, criterion.name, v) for v in criterion.values))
        return rows

    def read(self, ctx: Context, ident: str) -> Found | None:
        ids = uuids([ident])
        if not ids:
            return None
        found = self.render(ctx, list(self.rows(ctx).filter(pk=ids[0])))
        return found[0] if found else None

    def search(self, ctx: Context, query: Query) -> Page:
        rows = self.matching(ctx, query).order_by(*self.order)
        total = rows.count()
        if query.count == 0 or query.offset >= total:
            return Page(total)
        return Page(total, self.render(ctx, list(rows[query.offset : query.offset + query.count])))

    def for_patients(
        self, ctx: Context, rows: QuerySet[Any], patient_ids: set[str]
    ) -> QuerySet[Any]:
        return rows.filter(**{f"{self.patient_path}__in": uuids(patient_ids)})

    def iterate(
        self, ctx: Context, *, patient_ids: set[str] | None, since: datetime | None
    ) -> Iterator[Found]:
        rows = self.rows(ctx)
        if patient_ids is not None:
            rows = self.for_patients(ctx, rows, patient_ids)
        if since is not None:
            rows = rows.filter(**{f"{self.updated_path}__gt": since})
        stream = rows.order_by(*self.order).iterator(chunk_size=BATCH)
        while batch := list(itertools.islice(stream, BATCH)):
            yield from self.render(ctx, batch)


def model_ids(rows: Iterable[Model]) -> list[Any]:
    return [row.pk for row in rows]


KINDS = (TOKEN, REFERENCE, DATE)
