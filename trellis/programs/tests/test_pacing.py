"""Chapter pacing in a pack (`min_days`): checked by `trellis content check`, published with
the chapter, and shown in a diff."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.demo.personas import Cast
from trellis.programs.diff import diff_sources
from trellis.programs.packs import check_pack, load_pack
from trellis.programs.services import publish_pack

PACKS = Path(__file__).parent / "packs"
CONTENT = Path(__file__).resolve().parents[3] / "content"
SECOND_CHAPTER = "  - key: coping\n    title: Building coping skills\n"


def _pack_with(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / "steady-steps"
    shutil.copytree(PACKS / "clean", target)
    text = (target / "pack.yaml").read_text()
    assert old in text
    (target / "pack.yaml").write_text(text.replace(old, new, 1))
    return target


def _line_of(pack: Path, text: str) -> int:
    lines = (pack / "pack.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_min_days_on_a_later_chapter_is_read_and_published(cast: Cast, tmp_path: Path) -> None:
    pack = _pack_with(tmp_path, SECOND_CHAPTER, SECOND_CHAPTER + "    min_days: 4\n")
    loaded = load_pack(pack)
    assert loaded.problems == []
    assert [c["min_days"] for c in loaded.data["chapters"]] == [0, 4]
    version = publish_pack(pack, actor=cast["admin_avery"])
    assert [c.min_days for c in version.chapters.order_by("position")] == [0, 4]


@pytest.mark.parametrize("value", ["-1", "2.5", "three", "true", "366", "[3]"])
def test_min_days_that_is_not_a_whole_number_of_days_is_a_problem_on_its_line(
    tmp_path: Path, value: str
) -> None:
    pack = _pack_with(tmp_path, SECOND_CHAPTER, SECOND_CHAPTER + f"    min_days: {value}\n")
    [problem] = check_pack(pack)
    assert problem.file == "pack.yaml"
    assert problem.line == _line_of(pack, "min_days")
    assert problem.message.startswith("chapter 'coping': 'min_days' is ")
    assert problem.message.endswith("it must be a whole number of days from 0 to 365")


def test_min_days_on_the_first_chapter_is_a_problem(tmp_path: Path) -> None:
    first = "  - key: noticing\n    title: Noticing stress\n"
    pack = _pack_with(tmp_path, first, first + "    min_days: 2\n")
    [problem] = check_pack(pack)
    assert problem.line == _line_of(pack, "min_days")
    assert problem.message == (
        "chapter 'noticing': the first chapter opens at once, so it has no 'min_days'; remove it"
    )


def test_content_check_fails_with_the_pacing_problem(tmp_path: Path) -> None:
    pack = _pack_with(tmp_path, SECOND_CHAPTER, SECOND_CHAPTER + "    min_days: soon\n")
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("content", "check", str(pack), stdout=out)
    assert caught.value.returncode == 1
    assert "'min_days' is 'soon'" in out.getvalue()


def test_a_change_of_pacing_shows_in_the_diff(tmp_path: Path) -> None:
    before = load_pack(PACKS / "clean").data
    old_source = {**before, "chapters": [dict(c) for c in before["chapters"]]}
    for chapter in old_source["chapters"]:
        chapter.pop("min_days")  # a version published before the field existed
    after = load_pack(
        _pack_with(tmp_path, SECOND_CHAPTER, SECOND_CHAPTER + "    min_days: 4\n")
    ).data
    details = [d for change in diff_sources(old_source, after) for d in change.details]
    assert details == ["min_days: 0 → 4"]


@pytest.mark.parametrize("slug", ["better-sleep", "calmer-days", "moving-forward"])
def test_every_real_program_paces_its_later_chapters(slug: str) -> None:
    chapters = load_pack(CONTENT / slug).data["chapters"]
    assert chapters[0]["min_days"] == 0
    assert all(c["min_days"] >= 3 for c in chapters[1:])
