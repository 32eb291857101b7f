"""Fixtures shared by the journey tests (services, API, pages, browser tests).

- `test_program`: the small test program in `tests/pack/`, published (a ProgramVersion).
- `alex_enrollment`: patient_alex enrolled in it (therapist-assisted), with therapist_maria
  as primary supporter, started at `journey_start`.
- `journey_start`: the fixed moment the enrollment started (aware, UTC).
- `steps`: the test program's steps by key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from trellis.care.models import Enrollment
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex, publish_test_pack
from trellis.programs.models import ProgramVersion, Step

JOURNEY_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def journey_start() -> datetime:
    return JOURNEY_START


@pytest.fixture
def test_program(db: Any) -> ProgramVersion:
    return publish_test_pack()


@pytest.fixture
def alex_enrollment(cast: personas.Cast, test_program: ProgramVersion) -> Enrollment:
    return enroll_alex(cast, now=JOURNEY_START)


@pytest.fixture
def steps(test_program: ProgramVersion) -> dict[str, Step]:
    return {s.key: s for s in Step.objects.filter(version=test_program).select_related("chapter")}
