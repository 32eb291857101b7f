"""Fixtures of the messaging tests: patient_alex in the journey test program, with
therapist_maria as his supporter, started at a fixed Monday morning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trellis.care.models import Enrollment
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def start() -> datetime:
    return START


@pytest.fixture
def alex_enrollment(cast: personas.Cast) -> Enrollment:
    return enroll_alex(cast, now=START)
