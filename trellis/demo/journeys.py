"""Demo journeys: the three starter programs published, and the demo patients part-way through.

Everything goes through the real services (publish, enroll, complete, rate, journal, mood),
so the demo shows exactly what a patient's actions leave behind. Running it again creates
nothing: published packs that did not change are found, an existing enrollment is left as
it is, and every submission carries a fixed client id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from trellis.care import consent as care_consent
from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.journey import services
from trellis.journey.queries import today
from trellis.journey.samples import sample_response
from trellis.onboarding.services import enroll_patient, mark_done
from trellis.programs.models import ProgramVersion, StepKind
from trellis.programs.packs import PackError
from trellis.programs.services import publish_pack

PROGRAMS = ("calmer-days", "moving-forward", "better-sleep")
NAMESPACE = uuid.UUID("5c7f1e0a-3a55-4a8e-9f4e-7d1b2a9c0e11")


@dataclass(frozen=True)
class DemoJourney:
    patient: str
    program: str
    support_level: str
    supporters: tuple[str, ...]
    steps_done: int
    moods: tuple[int, ...] = ()
    journal: str = ""


JOURNEYS = (
    DemoJourney(
        "patient_alex",
        "calmer-days",
        SupportLevel.THERAPIST_ASSISTED,
        ("therapist_maria", "coach_jordan"),
        4,
        moods=(4, 5, 6),
        journal="The breathing helped before my meeting. I noticed my shoulders relax.",
    ),
    DemoJourney("patient_blair", "calmer-days", SupportLevel.COACHED, ("coach_jordan",), 2, (6,)),
    DemoJourney("patient_emery", "calmer-days", SupportLevel.SELF_GUIDED, ("therapist_maria",), 1),
    DemoJourney(
        "patient_casey",
        "moving-forward",
        SupportLevel.THERAPIST_ASSISTED,
        ("therapist_sam",),
        3,
        moods=(3, 4),
        journal="I went for a short walk even though I didn't feel like it. It was a bit better.",
    ),
    DemoJourney("patient_devon", "moving-forward", SupportLevel.COACHED, ("therapist_sam",), 1),
    DemoJourney(
        "patient_farah",
        "better-sleep",
        SupportLevel.THERAPIST_ASSISTED,
        ("therapist_otto",),
        3,
        moods=(5, 6),
    ),
)


def _client_id(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def publish_programs(
    warn: Callable[[str], Any], content_dir: Path | None = None
) -> dict[str, ProgramVersion]:
    """Publish each starter program found in content/, warning about any that cannot be."""

    versions: dict[str, ProgramVersion] = {}
    base = content_dir or Path(settings.BASE_DIR) / "content"
    for slug in PROGRAMS:
        folder = base / slug
        if not (folder / "pack.yaml").is_file():
            warn(f"Demo: no content pack at content/{slug}; its demo patients are not enrolled.")
            continue
        try:
            versions[slug] = publish_pack(folder, actor=None)
        except PackError as error:
            warn(f"Demo: content/{slug} does not pass the check ({error}); skipped.")
    return versions


def _progress(enrollment: Enrollment, journey: DemoJourney, now: datetime) -> None:
    """Complete the first few open steps on earlier days, rating each, then journal and mood."""
    patient = enrollment.patient
    start = enrollment.started_at
    for index in range(journey.steps_done):
        when = start + timedelta(days=2 * index + 1, hours=1)
        if when >= now:
            break
        state = today(enrollment, when).next_step
        if state is None or state.step.kind == StepKind.QUESTIONNAIRE:
            break
        step = state.step
        try:
            services.complete_step(
                enrollment,
                step,
                actor=patient,
                client_id=_client_id(enrollment.pk, "complete", index),
                response=sample_response(step, when),
                duration_s=step.minutes * 60,
                now=when,
            )
        except (services.StepLocked, ValidationError):
            break
        services.rate_step(
            enrollment,
            step,
            actor=patient,
            rating=4 if index % 2 == 0 else 5,
            client_id=_client_id(enrollment.pk, "rate", index),
            now=when + timedelta(minutes=1),
        )
    if journey.journal:
        services.add_journal_entry(
            enrollment,
            actor=patient,
            body=journey.journal,
            shared=True,
            client_id=_client_id(enrollment.pk, "journal"),
            now=now - timedelta(days=2, hours=3),
        )
    for offset, score in enumerate(journey.moods):
        services.check_in_mood(
            enrollment,
            actor=patient,
            score=score,
            note="",
            client_id=_client_id(enrollment.pk, "mood", offset),
            now=now - timedelta(days=len(journey.moods) - offset, hours=2),
        )


def seed_journeys(cast: Any, now: datetime, *, warn: Callable[[str], Any] = print) -> None:
    """Publish the starter programs and enroll the demo patients with some progress."""
    versions = publish_programs(warn)
    for journey in JOURNEYS:
        version = versions.get(journey.program)
        if version is None:
            continue
        patient = cast[journey.patient]
        if Enrollment.objects.filter(
            patient=patient,
            program_version__program=version.program,
            status=EnrollmentStatus.ACTIVE,
        ).exists():
            continue
        supporters = [cast[key] for key in journey.supporters]
        started = (now - timedelta(days=12)).replace(hour=8, minute=0, second=0, microsecond=0)
        enrollment = enroll_patient(
            patient=patient,
            program_version=version,
            support_level=journey.support_level,
            supporters=supporters,
            actor=supporters[0],
            now=started,
        )
        # Demo patients count as already through getting started (consent, questionnaires,
        # preferences), so they open straight onto Today. They agreed to every text asked
        # of them (the optional research consent is left unanswered).
        organization = enrollment.organization
        for document in care_consent.current_documents(organization, organization.locale):
            if document.required:
                care_consent.give_consent(document, actor=patient, now=started)
        mark_done(enrollment, actor=None, now=started)
        _progress(enrollment, journey, now)
