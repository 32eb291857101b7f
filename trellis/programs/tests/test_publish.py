"""Publishing packs as immutable versions, and the `trellis content` command."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.audit.models import AuditEvent
from trellis.demo.personas import Cast
from trellis.programs.diff import diff_sources
from trellis.programs.models import (
    Chapter,
    Program,
    ProgramVersion,
    PublishedVersionChanged,
    Step,
)
from trellis.programs.packs import load_pack
from trellis.programs.services import PackError, latest_version, publish_pack

PACKS = Path(__file__).parent / "packs"
CONTENT = Path(__file__).resolve().parents[3] / "content"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "steady-steps"
    shutil.copytree(PACKS / "clean", target)
    return target


def run(*args: str) -> str:
    out = StringIO()
    call_command("content", *args, stdout=out)
    return out.getvalue()


def test_publishing_creates_version_1_with_chapters_and_steps_in_order(
    cast: Cast, pack: Path
) -> None:
    avery = cast["admin_avery"]
    version = publish_pack(pack, actor=avery)
    assert version.number == 1
    assert version.program.slug == "steady-steps"
    assert version.checksum == load_pack(pack).checksum()
    assert version.published_by == avery
    assert version.intended_use == {
        "description": "Two short exercises a week for four weeks.",
        "exercises_per_week": 2,
        "weeks": 4,
    }
    assert [c.key for c in version.chapters.all()] == ["noticing", "coping"]
    steps = list(version.steps.select_related("chapter"))
    assert [(s.position, s.key, s.chapter.key) for s in steps] == [
        (1, "what-stress-does", "noticing"),
        (2, "first-breathing", "noticing"),
        (3, "weekly-anxiety", "noticing"),
        (4, "thought-record", "coping"),
        (5, "coping-reflection", "coping"),
        (6, "sleep-check", "coping"),
    ]
    lesson, breathing, questionnaire, thought, reflection, sleep = steps
    assert '<a href="https://www.nhs.uk/mental-health/" target="_blank"' in lesson.body_html
    assert breathing.exercise == "paced_breathing"
    assert breathing.settings == {"inhale": 4, "hold": 0, "exhale": 6, "duration_minutes": 5}
    assert questionnaire.instrument == "GAD-7" and questionnaire.body_html == ""
    assert thought.short_version_key == "first-breathing"
    assert reflection.prompt == "What helped you most this week?"
    assert reflection.unlock == {"days_after_chapter_start": 3}
    assert sleep.unlock == {"score": {"instrument": "GAD-7", "at_least": 10}}
    assert lesson.unlock == {"after": "previous"}
    assert "<strong>notice</strong>" in version.chapters.get(key="noticing").intro_html
    assert version.source["chapters"][0]["steps"][0]["body_md"].startswith("# What stress")
    event = AuditEvent.objects.get(action="program.publish")
    assert event.actor_id == avery.pk and event.object_id == str(version.pk)
    assert event.details["number"] == 1 and event.details["steps"] == 6
    assert latest_version("steady-steps") == version


def test_an_unchanged_pack_returns_the_latest_version_and_writes_nothing(
    cast: Cast, pack: Path
) -> None:
    first = publish_pack(pack, actor=None)
    again = publish_pack(pack, actor=cast["admin_avery"])
    assert again == first
    assert ProgramVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="program.publish").count() == 1


def test_a_changed_pack_becomes_version_2_and_version_1_stays_as_it_was(
    db: None, pack: Path
) -> None:
    first = publish_pack(pack, actor=None)
    first_steps = list(first.steps.values_list("id", "title", "minutes"))
    body = pack / "chapters/01-noticing/first-breathing.md"
    body.write_text("Sit comfortably. Breathe in for four, and out for six.\n")
    yaml_file = pack / "pack.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("minutes: 6", "minutes: 7"))
    second = publish_pack(pack, actor=None)
    assert second.number == 2 and second.checksum != first.checksum
    assert list(first.steps.values_list("id", "title", "minutes")) == first_steps
    assert second.steps.get(key="first-breathing").minutes == 7
    assert first.steps.get(key="first-breathing").minutes == 6
    assert Program.objects.count() == 1


def test_a_pack_with_problems_is_refused_whole_and_nothing_is_written(db: None) -> None:
    with pytest.raises(PackError) as caught:
        publish_pack(PACKS / "broken", actor=None)
    assert len(caught.value.problems) == 19
    assert str(caught.value.problems[0]) == (
        "pack.yaml:18: step 'lesson-one': minutes is 20; it must be a whole number from 1 to 15"
    )
    assert Program.objects.count() == 0
    assert ProgramVersion.objects.count() == 0 and Step.objects.count() == 0
    assert not AuditEvent.objects.filter(action="program.publish").exists()


def test_published_rows_refuse_to_change(db: None, pack: Path) -> None:
    version = publish_pack(pack, actor=None)
    step = version.steps.get(key="first-breathing")
    step.minutes = 12
    with pytest.raises(PublishedVersionChanged):
        step.save()
    with pytest.raises(PublishedVersionChanged):
        Step.objects.filter(pk=step.pk).update(minutes=12)
    chapter = version.chapters.first()
    assert chapter is not None
    chapter.title = "Changed"
    with pytest.raises(PublishedVersionChanged):
        chapter.save()
    with pytest.raises(PublishedVersionChanged):
        Chapter.objects.filter(version=version).update(title="Changed")
    version.summary = "Changed"
    with pytest.raises(PublishedVersionChanged):
        version.save()
    step.refresh_from_db()
    assert step.minutes == 6


def test_diff_lists_added_removed_and_changed_steps_field_by_field(db: None, pack: Path) -> None:
    first = publish_pack(pack, actor=None)
    (pack / "chapters/01-noticing/first-breathing.md").write_text(
        "Sit comfortably. Breathe in for four, and out for seven.\n"
    )
    (pack / "chapters/02-coping/new.md").write_text("A new lesson.\n")
    text = (pack / "pack.yaml").read_text()
    text = text.replace("minutes: 6", "minutes: 7")
    text = text.replace(
        "      - key: sleep-check\n        kind: exercise\n        exercise: sleep_diary\n"
        "        title: Last night's sleep\n        minutes: 5\n"
        "        body: chapters/02-coping/sleep-check.md\n"
        "        unlock: {score: {instrument: GAD-7, at_least: 10}}\n",
        "      - key: new-lesson\n        kind: lesson\n        title: Something new\n"
        "        minutes: 4\n        body: chapters/02-coping/new.md\n",
    )
    (pack / "pack.yaml").write_text(text)
    second = publish_pack(pack, actor=None)
    changes = diff_sources(first.source, second.source)
    assert [(c.action, c.what, c.key) for c in changes] == [
        ("changed", "step", "first-breathing"),
        ("added", "step", "new-lesson"),
        ("removed", "step", "sleep-check"),
    ]
    assert changes[0].details[0] == "minutes: 6 → 7"
    assert "    -Sit comfortably. Breathe in for four, out for six." in changes[0].details
    out = run("diff", "steady-steps", "1", "2")
    assert out.splitlines()[0] == "steady-steps: version 1 → version 2"
    assert '  + step    new-lesson "Something new"' in out
    assert '  - step    sleep-check "Last night\'s sleep"' in out
    assert "3 changes: 1 added, 1 removed, 1 changed" in out


def test_content_check_prints_file_line_problems_and_exits_1() -> None:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("content", "check", str(PACKS / "broken"), stdout=out)
    assert caught.value.returncode == 1
    assert str(caught.value) == "19 problems found"
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        f"{PACKS / 'broken'}/pack.yaml:18: step 'lesson-one': minutes is 20; "
        "it must be a whole number from 1 to 15"
    )
    assert lines[-1] == f"{PACKS / 'broken'}: 19 problems"


def test_content_check_of_a_clean_pack_exits_0() -> None:
    assert run("check", str(PACKS / "clean")) == f"{PACKS / 'clean'}: no problems\n"


def test_content_check_of_a_folder_checks_every_pack_inside() -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("content", "check", str(PACKS), stdout=out)
    assert f"{PACKS / 'clean'}: no problems" in out.getvalue()
    assert f"{PACKS / 'broken'}: 19 problems" in out.getvalue()


def test_content_check_of_a_folder_without_packs_says_so(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"no pack\.yaml here"):
        run("check", str(tmp_path))


def test_content_publish_prints_the_version_then_unchanged(cast: Cast, pack: Path) -> None:
    assert run("publish", str(pack), "--by", "avery.admin@riverside.example") == (
        "steady-steps: published version 1\n"
    )
    assert run("publish", str(pack)) == "steady-steps: unchanged, version 1 is the latest\n"
    assert ProgramVersion.objects.get().published_by == cast["admin_avery"]


def test_content_publish_of_a_broken_pack_lists_problems_and_exits_1(db: None) -> None:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("content", "publish", str(PACKS / "broken"), stdout=out)
    assert caught.value.returncode == 1
    assert f"{PACKS / 'broken'}: not published, 19 problems" in out.getvalue()
    assert ProgramVersion.objects.count() == 0


def test_content_list_shows_programs_and_versions(db: None, pack: Path) -> None:
    assert run("list") == "No programs are published yet.\n"
    publish_pack(pack, actor=None)
    lines = run("list").splitlines()
    assert lines[0] == "steady-steps  Steady steps"
    assert lines[1].startswith("  v1 ") and "6 steps" in lines[1] and "by operator" in lines[1]


def test_content_diff_names_a_missing_version(db: None, pack: Path) -> None:
    publish_pack(pack, actor=None)
    with pytest.raises(CommandError, match="steady-steps has no version 4"):
        run("diff", "steady-steps", "1", "4")


def test_the_real_programs_publish(db: None) -> None:
    packs = [CONTENT / slug for slug in ("calmer-days", "moving-forward", "better-sleep")]
    if not all((p / "pack.yaml").is_file() for p in packs):
        pytest.skip("the three programs in content/ are not all written yet")
    for path in packs:
        version = publish_pack(path, actor=None)
        assert version.number == 1
        assert version.chapters.count() >= 4
        assert version.steps.count() >= 10
