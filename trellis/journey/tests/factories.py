"""Building blocks for journey tests (and the authorization matrix): the published test
program in `tests/pack/`, and patient_alex enrolled in it with therapist_maria."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.core import timeutil
from trellis.programs.models import ProgramVersion

PACK = Path(__file__).resolve().parent / "pack"
PACK_SLUG = "test-steady-steps"


def publish_test_pack() -> ProgramVersion:
    """The test program, published through the programs service (once; later calls find it)."""
    from trellis.programs.services import publish_pack

    return publish_pack(PACK, actor=None)


def enroll_alex(cast: Any, *, now: datetime | None = None) -> Enrollment:
    """patient_alex in the test program, therapist-assisted, with therapist_maria (reused
    if it already exists)."""
    from trellis.onboarding.services import enroll_patient as enroll

    version = publish_test_pack()
    existing = Enrollment.objects.filter(
        patient=cast["patient_alex"], program_version=version, status=EnrollmentStatus.ACTIVE
    ).first()
    if existing is not None:
        return existing
    return enroll(
        patient=cast["patient_alex"],
        program_version=version,
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=now or timeutil.now(),
    )
