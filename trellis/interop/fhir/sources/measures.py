"""Questionnaires (the installed instruments), the responses of one clinic's patients, and
the Observations made from them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import measures
from trellis.interop.fhir.search import DATE, REFERENCE, TOKEN, URI, DateRange, Query, Token
from trellis.interop.fhir.sources.base import (
    BATCH,
    NOTHING,
    Context,
    Found,
    Page,
    RowSource,
    Source,
    any_of,
    uuids,
)
from trellis.measures.models import QuestionnaireResponse
from trellis.programs.instruments import Instrument, all_instruments

FINAL = "final"


def _instruments_by_id() -> dict[str, Instrument]:
    return {measures.questionnaire_id(code): i for code, i in all_instruments().items()}


class QuestionnaireSource(Source):
    """The installed instruments: not anyone's data, the same for every clinic."""

    resource_type = "Questionnaire"
    params = {"_id": TOKEN, "url": URI, "status": TOKEN}
    documentation = {"url": "The canonical URL a QuestionnaireResponse names."}
    about_patients = False

    def _all(self) -> list[Instrument]:
        return sorted(_instruments_by_id().values(), key=lambda i: i.code)

    def read(self, ctx: Context, ident: str) -> Found | None:
        instrument = _instruments_by_id().get(ident)
        return Found(measures.questionnaire(instrument)) if instrument else None

    def search(self, ctx: Context, query: Query) -> Page:
        found = [measures.questionnaire(i) for i in self._all()]
        for criterion in query.criteria:
            found = [
                r
                for r in found
                if any(self._matches(r, criterion.name, v) for v in criterion.values)
            ]
        page = found[query.offset : query.offset + query.count]
        return Page(len(found), [Found(r) for r in page])

    @staticmethod
    def _matches(resource: dict[str, Any], name: str, value: Any) -> bool:
        if name == "_id":
            return resource["id"] == value
        if name == "url":
            return resource["url"] == str(value).partition("|")[0]
        return isinstance(value, Token) and value.code == resource["status"]

    def iterate(
        self, ctx: Context, *, patient_ids: set[str] | None, since: datetime | None
    ) -> Iterator[Found]:
        for instrument in self._all():
            yield Found(measures.questionnaire(instrument))


def responses(ctx: Context) -> QuerySet[Any]:
    """The clinic's questionnaire responses, each with its patient's id (`fhir_patient`)."""
    return QuestionnaireResponse.objects.filter(enrollment__organization=ctx.organization).annotate(
        fhir_patient=F("enrollment__patient_id")
    )


def _instrument_q(value: Any) -> Q:
    """A Questionnaire named by canonical URL (optionally |version) or Questionnaire/<id>."""
    text = str(value).partition("|")[0]
    by_id = _instruments_by_id()
    for instrument in by_id.values():
        if text == systems.questionnaire_url(instrument.code):
            return Q(instrument=instrument.code)
    ident = text.rsplit("/", 1)[-1]
    named = by_id.get(ident)
    return Q(instrument=named.code) if named else NOTHING


class QuestionnaireResponseSource(RowSource):
    resource_type = "QuestionnaireResponse"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "subject": REFERENCE,
        "status": TOKEN,
        "authored": DATE,
        "questionnaire": REFERENCE,
    }
    documentation = {
        "status": "Always completed: Trellis keeps only finished questionnaires.",
        "authored": "When the patient submitted it.",
        "questionnaire": "The Questionnaire's canonical URL, or Questionnaire/<id>.",
    }
    targets = {"questionnaire": "Questionnaire"}
    patient_path = "enrollment__patient_id"
    order = ("submitted_at", "id")

    def rows(self, ctx: Context) -> QuerySet[Any]:
        return responses(ctx)

    def filters(self, ctx: Context) -> dict[str, Callable[[Any], Q]]:
        return {
            "status": lambda token: Q() if token.code == "completed" else NOTHING,
            "authored": lambda value: value.q("submitted_at"),
            "questionnaire": _instrument_q,
        }

    def render(self, ctx: Context, rows: Sequence[Any]) -> list[Found]:
        instruments = all_instruments()
        found: list[Found] = []
        for response in rows:
            instrument = instruments.get(response.instrument)
            if instrument is None:
                continue  # an instrument no longer installed: nothing to describe it with
            found.append(
                Found(
                    measures.questionnaire_response(response, instrument, response.fhir_patient),
                    frozenset({str(response.fhir_patient)}),
                )
            )
        return found


def _survey(token: Token) -> bool:
    return token.code == "survey" and token.system in (None, systems.OBSERVATION_CATEGORY)


class ObservationSource(Source):
    """The scores and item answers of responses: several Observations per response."""

    resource_type = "Observation"
    params = {
        "_id": TOKEN,
        "_lastUpdated": DATE,
        "patient": REFERENCE,
        "subject": REFERENCE,
        "code": TOKEN,
        "category": TOKEN,
        "date": DATE,
        "status": TOKEN,
    }
    documentation = {
        "code": "LOINC (http://loinc.org|44261-6) or Trellis's instruments code system; "
        "system|code or code.",
        "category": "survey.",
        "date": "When the questionnaire was answered (effectiveDateTime).",
        "status": "final.",
    }

    def _responses(
        self, ctx: Context, query: Query
    ) -> tuple[QuerySet[Any], list[tuple[Token, ...]], set[str] | None]:
        rows = responses(ctx)
        codes: list[tuple[Token, ...]] = []
        wanted: set[str] | None = None
        for criterion in query.criteria:
            name, values = criterion.name, criterion.values
            if name in ("patient", "subject"):
                rows = rows.filter(enrollment__patient_id__in=uuids(values))
            elif name == "_lastUpdated":
                rows = rows.filter(
                    any_of(v.q("updated_at") for v in values if isinstance(v, DateRange))
                )
            elif name == "date":
                rows = rows.filter(
                    any_of(v.q("submitted_at") for v in values if isinstance(v, DateRange))
                )
            elif name == "status":
                if not any(isinstance(v, Token) and v.code == FINAL for v in values):
                    rows = rows.none()
            elif name == "category":
                if not any(isinstance(v, Token) and _survey(v) for v in values):
                    rows = rows.none()
            elif name == "code":
                tokens = tuple(v for v in values if isinstance(v, Token))
                codes.append(tokens)
                rows = rows.filter(instrument__in=_instruments_with(tokens))
            elif name == "_id":
                ids = {str(v) for v in values}
                wanted = ids if wanted is None else wanted & ids
                matched = [measures.OBSERVATION_ID_RE.match(i) for i in ids]
                rows = rows.filter(pk__in=uuids(m.group("response") for m in matched if m))
        return rows, codes, wanted

    def search(self, ctx: Context, query: Query) -> Page:
        rows, codes, wanted = self._responses(ctx, query)
        instruments = all_instruments()
        keys: list[tuple[Any, str]] = []
        light = rows.order_by("submitted_at", "id").only("id", "instrument", "answers", "total")
        for response in light.iterator(chunk_size=2000):
            instrument = instruments.get(response.instrument)
            if instrument is None:
                continue
            for ident, coding in measures.observation_codes(response, instrument):
                if wanted is not None and ident not in wanted:
                    continue
                if all(any(t.matches(coding["system"], coding["code"]) for t in c) for c in codes):
                    keys.append((response.pk, ident))
        page = keys[query.offset : query.offset + query.count] if query.count else []
        if not page:
            return Page(len(keys))
        chosen = {ident for _pk, ident in page}
        made: dict[str, Found] = {}
        for found in self._render(
            responses(ctx).filter(pk__in={pk for pk, _i in page}), instruments
        ):
            if found.resource["id"] in chosen:
                made[found.resource["id"]] = found
        return Page(len(keys), [made[ident] for _pk, ident in page if ident in made])

    @staticmethod
    def _render(rows: Any, instruments: dict[str, Instrument]) -> Iterator[Found]:
        for response in rows:
            instrument = instruments.get(response.instrument)
            if instrument is None:
                continue
            patients = frozenset({str(response.fhir_patient)})
            for resource in measures.observations(response, instrument, response.fhir_patient):
                yield Found(resource, patients)

    def read(self, ctx: Context, ident: str) -> Found | None:
        match = measures.OBSERVATION_ID_RE.match(ident)
        if match is None:
            return None
        rows = responses(ctx).filter(pk__in=uuids([match.group("response")]))
        return next(
            (f for f in self._render(rows, all_instruments()) if f.resource["id"] == ident), None
        )

    def iterate(
        self, ctx: Context, *, patient_ids: set[str] | None, since: datetime | None
    ) -> Iterator[Found]:
        rows = responses(ctx)
        if patient_ids is not None:
            rows = rows.filter(enrollment__patient_id__in=uuids(patient_ids))
        if since is not None:
            rows = rows.filter(updated_at__gt=since)
        instruments = all_instruments()
        stream = rows.order_by("submitted_at", "id").iterator(chunk_size=BATCH)
        while batch := list(itertools.islice(stream, BATCH)):
            yield from self._render(batch, instruments)


def _instruments_with(tokens: Sequence[Token]) -> list[str]:
    """The instruments that make an Observation with one of these codes."""
    found: list[str] = []
    for code, instrument in all_instruments().items():
        codings = [measures.total_coding(instrument)] + [
            measures.item_coding(instrument, item) for item in instrument.items
        ]
        if any(t.matches(c["system"], c["code"]) for t in tokens for c in codings):
            found.append(code)
    return found
