"""Publishing programs: a checked content pack becomes a new, never-changing version.

Publishing is the only write in this app. It creates rows and never updates a published
version, chapter or step (the models refuse it), so a patient who started on version 2
keeps seeing version 2 after version 3 is published.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction

from trellis import audit
from trellis.programs import markdown
from trellis.programs.exercises import EXERCISE_KINDS
from trellis.programs.models import Chapter, Program, ProgramVersion, Step
from trellis.programs.packs import PackError, Problem, check_pack, load_pack
from trellis.programs.queries import latest_version

if TYPE_CHECKING:
    from trellis.accounts.models import User

__all__ = ["PackError", "Problem", "check_pack", "latest_version", "publish_pack"]


@transaction.atomic
def publish_pack(path: Path | str, *, actor: User | None) -> ProgramVersion:
    """Check the pack at `path` and publish it as the program's next version.

    A pack with any problem is refused whole (`PackError` lists every problem) and nothing
    is written. A pack identical to the latest version (same checksum) returns that
    version and writes nothing.
    """
    pack = load_pack(path)
    if pack.problems:
        raise PackError(pack.problems)
    data = pack.data
    checksum = pack.checksum()
    program, created = Program.objects.get_or_create(
        slug=data["slug"], defaults={"title": data["title"]}
    )
    # Serialise publishers of the same program, so version numbers never collide.
    program = Program.objects.select_for_update().get(pk=program.pk)
    latest = program.versions.order_by("-number").first()
    if latest is not None and latest.checksum == checksum:
        return latest
    if program.title != data["title"]:
        program.title = data["title"]
        program.save(update_fields=["title", "updated_at"])
    version = ProgramVersion.objects.create(
        program=program,
        number=(latest.number + 1) if latest else 1,
        title=data["title"],
        summary=data["summary"],
        language=data["language"],
        conditions=data["conditions"],
        intended_use=data["intended_use"],
        checksum=checksum,
        source=data,
        published_by=actor,
    )
    chapters: list[Chapter] = []
    steps: list[Step] = []
    position = 0
    for chapter_position, chapter_data in enumerate(data["chapters"], 1):
        chapter = Chapter(
            version=version,
            key=chapter_data["key"],
            position=chapter_position,
            title=chapter_data["title"],
            intro_html=markdown.render(chapter_data["intro_md"]),
            closing_html=markdown.render(chapter_data["closing_md"]),
            skills=chapter_data["skills"],
            min_days=chapter_data.get("min_days") or 0,
        )
        chapters.append(chapter)
        for step_data in chapter_data["steps"]:
            position += 1
            steps.append(_step(version, chapter, position, step_data))
    Chapter.objects.bulk_create(chapters)
    Step.objects.bulk_create(steps)
    audit.record(
        action="program.publish",
        actor=actor,
        subject=version,
        details={
            "slug": program.slug,
            "number": version.number,
            "checksum": checksum,
            "chapters": len(chapters),
            "steps": len(steps),
            "new_program": created,
        },
    )
    return version


def _step(version: ProgramVersion, chapter: Chapter, position: int, data: dict[str, Any]) -> Step:
    exercise = data["exercise"]
    settings = EXERCISE_KINDS[exercise].resolved_settings(data["settings"]) if exercise else {}
    return Step(
        version=version,
        chapter=chapter,
        key=data["key"],
        position=position,
        kind=data["kind"],
        exercise=exercise,
        title=data["title"],
        minutes=data["minutes"],
        body_html=markdown.render(data["body_md"]),
        hint=data["hint"],
        prompt=data["prompt"],
        instrument=data["instrument"],
        settings=settings,
        unlock=data["unlock"],
        short_version_key=data["short_version"],
    )
