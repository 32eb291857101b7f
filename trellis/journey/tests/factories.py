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
    try:
        from trellis.programs.services import publish_pack
    except ImportError:  # the programs service is not there yet: build the rows directly
        return _build_rows(PACK)
    return publish_pack(PACK, actor=None)


def _build_rows(path: Path) -> ProgramVersion:
    import yaml
    from django.utils.html import escape

    from trellis.programs.models import Chapter, Program, Step

    existing = ProgramVersion.objects.filter(program__slug=PACK_SLUG).first()
    if existing is not None:
        return existing
    pack = yaml.safe_load((path / "pack.yaml").read_text())

    def html(rel: str | None) -> str:
        return f"<p>{escape((path / rel).read_text().strip())}</p>" if rel else ""

    program = Program.objects.create(slug=pack["slug"], title=pack["title"])
    version = ProgramVersion.objects.create(
        program=program,
        number=1,
        title=pack["title"],
        summary=pack["summary"],
        conditions=pack["conditions"],
        intended_use=pack["intended_use"],
        checksum="0" * 64,
        source=pack,
    )
    position = 0
    for cpos, ch in enumerate(pack["chapters"], start=1):
        chapter = Chapter.objects.create(
            version=version,
            key=ch["key"],
            position=cpos,
            title=ch["title"],
            intro_html=html(ch["intro"]),
            closing_html=html(ch.get("closing")),
            skills=ch.get("skills", []),
        )
        for st in ch["steps"]:
            position += 1
            Step.objects.create(
                version=version,
                chapter=chapter,
                key=st["key"],
                position=position,
                kind=st["kind"],
                exercise=st.get("exercise", ""),
                title=st["title"],
                minutes=st["minutes"],
                body_html=html(st.get("body")),
                hint=st.get("hint", ""),
                prompt=st.get("prompt", ""),
                instrument=st.get("instrument", ""),
                settings=st.get("settings", {}),
                unlock=st.get("unlock", {}),
                short_version_key=st.get("short_version", ""),
            )
    return version


def enroll_alex(cast: Any, *, now: datetime | None = None) -> Enrollment:
    """patient_alex in the test program, therapist-assisted, with therapist_maria (reused
    if it already exists)."""
    from trellis.care.services import enroll

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
