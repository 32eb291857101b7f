"""Reading a kick-off request: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trellis.interop.bulk.params import KickoffProblem, parse_instant, parse_kickoff

EXPORTABLE = ("Patient", "Observation", "Communication")
ASYNC = "respond-async"


def kickoff(
    params: dict[str, list[str]], *, prefer: str = ASYNC, readable: tuple[str, ...] = EXPORTABLE
) -> tuple[str, ...]:
    return parse_kickoff(params, prefer=prefer, exportable=EXPORTABLE, readable=readable).types


def refusal(params: dict[str, list[str]], **kw: object) -> KickoffProblem:
    with pytest.raises(KickoffProblem) as caught:
        kickoff(params, **kw)  # type: ignore[arg-type]
    return caught.value


def test_without_type_every_readable_type_is_exported_in_file_order() -> None:
    assert kickoff({}) == EXPORTABLE
    assert kickoff({}, readable=("Communication", "Patient")) == ("Patient", "Communication")


def test_type_is_a_comma_list_that_may_repeat() -> None:
    assert kickoff({"_type": ["Observation,Patient", "Patient"]}) == ("Patient", "Observation")


def test_prefer_respond_async_is_required() -> None:
    problem = refusal({}, prefer="")
    assert (problem.status, problem.code) == (400, "invalid")
    assert "respond-async" in problem.diagnostics
    assert kickoff({}, prefer="handling=lenient, respond-async") == EXPORTABLE


def test_a_type_that_cannot_be_exported_is_named() -> None:
    problem = refusal({"_type": ["Patient,Medication"]})
    assert problem.status == 400 and "Medication" in problem.diagnostics


def test_an_empty_type_is_refused() -> None:
    assert refusal({"_type": [" , "]}).status == 400


def test_a_type_the_token_may_not_read_is_forbidden() -> None:
    problem = refusal({"_type": ["Patient,Communication"]}, readable=("Patient",))
    assert (problem.status, problem.code) == (403, "forbidden")
    assert "Communication" in problem.diagnostics
    assert refusal({}, readable=()).status == 403


def test_since_must_be_a_fhir_instant() -> None:
    export = parse_kickoff(
        {"_since": ["2026-01-31T09:00:00+02:00"]},
        prefer=ASYNC,
        exportable=EXPORTABLE,
        readable=EXPORTABLE,
    )
    assert export.since == datetime(2026, 1, 31, 7, 0, tzinfo=UTC)
    for bad in ("2026-01-31", "2026-01-31T09:00:00", "yesterday", "2026-13-01T00:00:00Z"):
        problem = refusal({"_since": [bad]})
        assert problem.status == 400 and bad in problem.diagnostics
    assert refusal({"_since": ["2026-01-31T09:00:00Z", "2026-02-01T09:00:00Z"]}).status == 400


def test_output_format_is_ndjson_in_any_of_its_names() -> None:
    for name in ("application/fhir+ndjson", "application/ndjson", "ndjson"):
        assert kickoff({"_outputFormat": [name]}) == EXPORTABLE
    problem = refusal({"_outputFormat": ["text/csv"]})
    assert problem.status == 400 and "text/csv" in problem.diagnostics


def test_an_unknown_parameter_is_named_not_ignored() -> None:
    problem = refusal({"_typeFilter": ["Observation?code=x"], "patient": ["1"]})
    assert problem.status == 400
    assert "_typeFilter" in problem.diagnostics and "patient" in problem.diagnostics


def test_instants_with_fractions_and_zones_are_read() -> None:
    assert parse_instant("2026-03-02T15:00:00.123Z").microsecond == 123000
