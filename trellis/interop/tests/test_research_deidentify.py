"""The de-identification itself, without a database: no identifier of the input reaches the
output, each patient's dates move together, ages above 89 are grouped, rare groups refuse."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trellis.interop.research.deidentify import (
    COLUMNS,
    EnrollmentIn,
    EventIn,
    MoodIn,
    ScoreIn,
    Source,
    TooRare,
    age_group,
    deidentify,
    rare_groups,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I)
PHONE = re.compile(r"\+?\d[\d\s().-]{8,}\d")

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@st.composite
def sources(draw: st.DrawFn) -> Source:
    """Patients named by UUIDs, e-mail addresses or phone numbers, with every table."""
    n = draw(st.integers(min_value=1, max_value=8))
    patients = [
        draw(
            st.sampled_from(
                [str(uuid.uuid4()), f"p{i}@patients.example", f"+1617555{i:04d}", uuid.uuid4()]
            )
        )
        for i in range(n)
    ]
    enrollments = []
    for i, patient in enumerate(patients):
        for j in range(draw(st.integers(min_value=1, max_value=2))):
            start = draw(moments)
            enrollments.append(
                EnrollmentIn(
                    enrollment=str(uuid.uuid4()) if j else f"enr-{i}@x.example",
                    patient=patient,
                    program="steady-steps",
                    support_level="coached",
                    status=draw(st.sampled_from(["active", "completed"])),
                    started_at=start,
                    ended_at=draw(st.none() | st.just(start + timedelta(days=30))),
                    age_band=draw(st.sampled_from(["", "25-34", "90-94", "95+"])),
                )
            )
    ids = [e.enrollment for e in enrollments]
    events = [
        EventIn(draw(st.sampled_from(ids)), draw(moments), "login", "", None)
        for _ in range(draw(st.integers(min_value=0, max_value=6)))
    ]
    scores = [
        ScoreIn(draw(st.sampled_from(ids)), "PHQ-9", 7, "mild", draw(moments))
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    ]
    moods = [
        MoodIn(draw(st.sampled_from(ids)), 5, draw(moments))
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    ]
    return Source(enrollments=enrollments, scores=scores, events=events, moods=moods)


@settings(max_examples=60, deadline=None)
@given(source=sources(), seed=st.integers())
def test_no_output_value_carries_an_identifier_of_the_input(source: Source, seed: int) -> None:
    out = deidentify(source, k=1, rng=random.Random(seed))
    inputs = {str(e.patient) for e in source.enrollments} | {
        str(e.enrollment) for e in source.enrollments
    }
    for name, rows in out.tables().items():
        for row in rows:
            assert tuple(row) == COLUMNS[name]
            for value in row.values():
                text = str(value)
                assert text not in inputs
                assert not UUID.search(text), text
                assert not EMAIL.search(text), text
                assert not any(p.lstrip("+") in text for p in inputs if PHONE.fullmatch(p))


@settings(max_examples=60, deadline=None)
@given(source=sources(), seed=st.integers(), most=st.integers(min_value=1, max_value=400))
def test_each_patients_dates_move_by_one_offset(source: Source, seed: int, most: int) -> None:
    # A program of its own per enrollment lets the test find each row's input again.
    source = Source(
        enrollments=[replace(e, program=f"prog-{i}") for i, e in enumerate(source.enrollments)],
        events=source.events,
    )
    out = deidentify(source, k=1, rng=random.Random(seed), max_shift_days=most)
    original = {f"prog-{i}": e for i, e in enumerate(source.enrollments)}
    offsets: dict[str, set[int]] = {}
    offset_of_enrollment = {}
    for row in out.enrollments:
        given = original[row["program"]]
        offset = (date.fromisoformat(row["started_on"]) - given.started_at.date()).days
        assert 1 <= abs(offset) <= most
        if given.ended_at is not None:
            assert (date.fromisoformat(row["ended_on"]) - given.ended_at.date()).days == offset
        offsets.setdefault(row["patient"], set()).add(offset)
        offset_of_enrollment[row["enrollment"]] = (offset, given.enrollment)
    assert all(len(found) == 1 for found in offsets.values())
    moved = sorted(
        datetime.strptime(r["occurred_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        - timedelta(days=offset_of_enrollment[r["enrollment"]][0])
        for r in out.events
    )
    assert moved == sorted(ev.occurred_at.replace(microsecond=0) for ev in source.events)


def test_events_scores_and_moods_follow_their_patients_offset() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    source = Source(
        enrollments=[
            EnrollmentIn("e1", "alex", "p", "coached", "active", start),
            EnrollmentIn("e2", "alex", "p", "coached", "completed", start, start + timedelta(5)),
        ],
        events=[EventIn("e2", start + timedelta(days=3, hours=2), "login", "", None)],
        scores=[ScoreIn("e1", "PHQ-9", 12, "moderate", start + timedelta(days=7))],
        moods=[MoodIn("e1", 6, start + timedelta(days=1))],
    )
    out = deidentify(source, k=1, rng=random.Random(3))
    shifted = date.fromisoformat(out.enrollments[0]["started_on"])
    offset = (shifted - start.date()).days
    assert offset != 0
    assert {r["started_on"] for r in out.enrollments} == {shifted.isoformat()}
    assert out.scores[0]["submitted_on"] == (shifted + timedelta(days=7)).isoformat()
    moved = start + timedelta(days=offset + 3, hours=2)
    assert out.events[0]["occurred_at"] == moved.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out.moods[0]["recorded_at"].startswith((shifted + timedelta(days=1)).isoformat())
    assert len({r["patient"] for r in out.enrollments}) == 1
    assert out.patients == 1


def test_two_exports_use_different_pseudonyms() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    source = Source(enrollments=[EnrollmentIn("e1", "alex", "p", "coached", "active", start)])
    first = deidentify(source, k=1, rng=random.Random(1)).enrollments[0]
    second = deidentify(source, k=1, rng=random.Random(2)).enrollments[0]
    assert first["patient"] != second["patient"] and first["enrollment"] != second["enrollment"]
    assert re.fullmatch(r"P-[A-Z0-9]{10}", first["patient"])


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("93", "90+"),
        ("90-94", "90+"),
        ("95+", "90+"),
        ("85-89", "85-89"),
        ("89", "89"),
        ("85-94", "85+"),
        ("", ""),
        ("unknown", "unknown"),
    ],
)
def test_ages_above_89_are_grouped(given: str, shown: str) -> None:
    assert age_group(given) == shown


def test_a_group_rarer_than_k_refuses_the_export_and_is_named() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [
        EnrollmentIn(f"e{i}", f"p{i}", "p", "coached", "completed", start) for i in range(5)
    ] + [EnrollmentIn("x", "lonely", "p", "therapist_assisted", "withdrawn", start)]
    with pytest.raises(TooRare) as refused:
        deidentify(Source(enrollments=rows), k=5, rng=random.Random(0))
    assert len(refused.value.groups) == 1
    group = refused.value.groups[0]
    assert group.patients == 1
    assert group.values["support_level"] == "therapist_assisted"
    assert "withdrawn" in group.describe()
    assert deidentify(Source(enrollments=rows[:5]), k=5).patients == 5


def test_k_counts_patients_not_enrollments() -> None:
    rows = [
        {"patient": "P-1", "program": "p", "support_level": "coached", "status": "completed"},
        {"patient": "P-1", "program": "p", "support_level": "coached", "status": "completed"},
    ]
    assert rare_groups(rows, 2)[0].patients == 1
