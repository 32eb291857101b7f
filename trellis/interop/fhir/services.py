"""Answering a read or a search for a backend client: the resources, and in the same
transaction the disclosure naming every patient whose data the answer carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from trellis.interop.caller import Caller
from trellis.interop.disclosures import FHIR_READ, note_disclosure
from trellis.interop.fhir.bundle import searchset
from trellis.interop.fhir.outcome import NotFound
from trellis.interop.fhir.search import Query
from trellis.interop.fhir.sources import SOURCES, Context


def _context(caller: Caller) -> Context:
    return Context(caller.organization, include_message_text=caller.may_read_message_text)


@transaction.atomic
def answer_read(caller: Caller, resource_type: str, ident: str) -> dict[str, Any]:
    """One resource of the caller's clinic, or NotFound (also for another clinic's)."""
    found = SOURCES[resource_type].read(_context(caller), ident)
    if found is None:
        raise NotFound(f"There is no {resource_type} with id '{ident}'.")
    note_disclosure(
        client=caller.client,
        action=FHIR_READ,
        patient_ids=found.patient_ids,
        details={"type": resource_type, "query": f"{resource_type}/{ident}"},
    )
    return found.resource


@transaction.atomic
def answer_search(
    caller: Caller,
    resource_type: str,
    query: Query,
    *,
    base: str,
    pairs: Sequence[tuple[str, str]],
    query_text: str,
) -> dict[str, Any]:
    """One page of a search as a searchset Bundle."""
    page = SOURCES[resource_type].search(_context(caller), query)
    patients: set[str] = set()
    for found in page.found:
        patients |= found.patient_ids
    note_disclosure(
        client=caller.client,
        action=FHIR_READ,
        patient_ids=patients,
        details={"type": resource_type, "query": query_text},
    )
    return searchset(page, base=base, resource_type=resource_type, pairs=pairs, query=query)
