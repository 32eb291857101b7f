"""Fixtures for the questionnaire tests: patient_alex in the journey test program
(therapist-assisted, with therapist_maria), started on a fixed Monday morning."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from trellis.care.models import Enrollment
from trellis.demo import personas

MEASURES_START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


@pytest.fixture
def start() -> datetime:
    return MEASURES_START


@pytest.fixture
def alex_in_program(cast: personas.Cast) -> Enrollment:
    from trellis.journey.tests.factories import enroll_alex

    return enroll_alex(cast, now=MEASURES_START)


def all_ones(count: int, value: Any = 1) -> dict[str, Any]:
    return {f"q{n}": value for n in range(1, count + 1)}
