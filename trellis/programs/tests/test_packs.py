"""The pack checker reports every problem at once, each with the file and line to fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from trellis.programs.packs import LineDict, Problem, check_pack, find_packs, load_pack

PACKS = Path(__file__).parent / "packs"
CONTENT = Path(__file__).resolve().parents[3] / "content"
REAL_PROGRAMS = ["calmer-days", "moving-forward", "better-sleep"]


def located(problems: list[Problem]) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.message) for p in problems]


def test_the_clean_pack_has_no_problems_and_keeps_its_markdown() -> None:
    pack = load_pack(PACKS / "clean")
    assert pack.problems == []
    assert pack.slug == "steady-steps"
    steps = [s for c in pack.data["chapters"] for s in c["steps"]]
    assert [s["key"] for s in steps] == [
        "what-stress-does",
        "first-breathing",
        "weekly-anxiety",
        "thought-record",
        "coping-reflection",
        "sleep-check",
    ]
    assert steps[0]["unlock"] == {"after": "previous"}
    assert steps[4]["unlock"] == {"days_after_chapter_start": 3}
    assert "notice" in pack.data["chapters"][0]["intro_md"]
    assert pack.files[0] == "pack.yaml" and len(pack.files) == 10


BROKEN_EXPECTED = [
    ("pack.yaml", 18, "step 'lesson-one': minutes is 20; it must be a whole number from 1 to 15"),
    (
        "pack.yaml",
        22,
        "step 'breathing': unknown exercise kind 'paced_breething' "
        "(did you mean 'paced_breathing'?)",
    ),
    (
        "pack.yaml",
        26,
        "step key 'lesson-one' is used twice (first on line 15); "
        "step keys must be unique in the whole pack",
    ),
    ("pack.yaml", 30, "step 'lesson-one': the file 'chapters/missing.md' does not exist"),
    ("pack.yaml", 31, "step 'worry' is missing the required field 'title'"),
    ("pack.yaml", 34, "step 'worry' has an unknown field 'titel' (did you mean 'title'?)"),
    ("pack.yaml", 36, "step 'worry': '../../outside.md' is outside the pack folder"),
    (
        "pack.yaml",
        37,
        "step 'worry': setting 'worry_minutes' is 90; it must be from 5 to 30 minutes",
    ),
    (
        "pack.yaml",
        37,
        "step 'worry': unknown setting 'colour' for worry_time (known settings: worry_minutes)",
    ),
    (
        "pack.yaml",
        38,
        "step 'worry': unlock after 'no-such-step', but there is no step with that key",
    ),
    ("pack.yaml", 39, "chapter key 'noticing' is used twice (first on line 9)"),
    (
        "pack.yaml",
        49,
        "step 'check': unknown instrument 'XYZ-12' (known: GAD-2, GAD-7, PHQ-2, PHQ-9, eHEALS)",
    ),
    ("pack.yaml", 50, "step 'check': short_version 'nowhere' is not a step in this pack"),
    (
        "pack.yaml",
        56,
        "step 'loop-a' would never open: its unlock rule is part of a cycle "
        "(loop-a → loop-b → loop-a)",
    ),
    (
        "pack.yaml",
        62,
        "step 'loop-b' would never open: its unlock rule is part of a cycle "
        "(loop-a → loop-b → loop-a)",
    ),
    ("pack.yaml", 68, "chapter 'empty-chapter' has no steps; add at least one"),
    ("chapters/empty.md", 1, "the file is empty; write the text of this part here"),
    (
        "chapters/unsafe.md",
        5,
        'raw HTML is not allowed in Markdown (<script>alert("hi")</script>); write plain text',
    ),
    (
        "chapters/unsafe.md",
        7,
        "link to 'javascript:' is not allowed; links must start with https:, http:, mailto: "
        "or tel:",
    ),
]


def test_the_broken_pack_reports_every_planted_error_with_file_and_line() -> None:
    assert located(check_pack(PACKS / "broken")) == BROKEN_EXPECTED


def test_problems_print_as_file_line_reason() -> None:
    problem = Problem("pack.yaml", 18, "minutes is 20")
    assert str(problem) == "pack.yaml:18: minutes is 20"
    assert problem.located_in("content/x") == "content/x/pack.yaml:18: minutes is 20"


def _copy_clean(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(PACKS / "clean", target)
    return target


def test_yaml_that_does_not_parse_is_reported_on_its_line(tmp_path: Path) -> None:
    pack = _copy_clean(tmp_path)
    text = (pack / "pack.yaml").read_text().replace("title: Steady steps", "title: [Steady", 1)
    (pack / "pack.yaml").write_text(text)
    [problem] = check_pack(pack)
    assert problem.file == "pack.yaml" and problem.line in {2, 3}
    assert problem.message.startswith("YAML does not parse")


def test_a_key_written_twice_in_one_block_is_reported(tmp_path: Path) -> None:
    pack = _copy_clean(tmp_path)
    text = (pack / "pack.yaml").read_text().replace("language: en\n", "language: en\ntitle: X\n")
    (pack / "pack.yaml").write_text(text)
    assert located(check_pack(pack)) == [
        ("pack.yaml", 6, "'title' appears twice in the same block (first on line 2)")
    ]


def test_a_folder_without_pack_yaml_is_one_problem(tmp_path: Path) -> None:
    assert located(check_pack(tmp_path)) == [
        ("pack.yaml", 1, f"there is no pack.yaml in {tmp_path}")
    ]


def test_a_missing_program_field_and_a_bad_unlock_rule(tmp_path: Path) -> None:
    pack = _copy_clean(tmp_path)
    text = (pack / "pack.yaml").read_text()
    text = text.replace(
        "summary: >-\n  A small test program: notice stress, then practise calming skills.\n", ""
    )
    text = text.replace("unlock: {days_after_chapter_start: 3}", "unlock: {weekly: true}")
    (pack / "pack.yaml").write_text(text)
    messages = [m for _f, _l, m in located(check_pack(pack))]
    assert messages[0] == "the program is missing the required field 'summary'"
    assert messages[1].startswith("step 'coping-reflection': unlock must be one rule")


def test_the_first_step_cannot_wait_for_anything(tmp_path: Path) -> None:
    pack = _copy_clean(tmp_path)
    text = (pack / "pack.yaml").read_text()
    text = text.replace(
        "        body: chapters/01-noticing/what-stress-does.md\n",
        "        body: chapters/01-noticing/what-stress-does.md\n"
        "        unlock: {after: sleep-check}\n",
    )
    (pack / "pack.yaml").write_text(text)
    assert located(check_pack(pack)) == [
        (
            "pack.yaml",
            24,
            "step 'what-stress-does': the first step of the program is always open; "
            "remove its unlock rule",
        )
    ]


def test_find_packs_finds_one_pack_or_the_packs_in_a_folder(tmp_path: Path) -> None:
    assert find_packs(PACKS / "clean") == [PACKS / "clean"]
    assert find_packs(PACKS) == [PACKS / "broken", PACKS / "clean"]
    assert find_packs(tmp_path) == []


# The real programs -------------------------------------------------------------------


def _real_pack(slug: str) -> Path:
    path = CONTENT / slug
    if not (path / "pack.yaml").is_file():
        pytest.skip(f"content/{slug}/pack.yaml is not written yet")
    return path


@pytest.mark.parametrize("slug", REAL_PROGRAMS)
def test_every_real_program_passes_the_check(slug: str) -> None:
    assert [str(p) for p in check_pack(_real_pack(slug))] == []


def test_every_pack_under_content_passes_the_check() -> None:
    packs = find_packs(CONTENT)
    if not packs:
        pytest.skip("content/ holds no packs yet")
    assert {p.name: [str(x) for x in check_pack(p)] for p in packs} == {p.name: [] for p in packs}


def _set_value(path: Path, line: int, value: str) -> None:
    """Replace what follows the key on a 1-based line of a YAML file."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = re.sub(
        r"^(\s*(?:- )?[\w]+:).*$", rf"\1 {value}", lines[line - 1].rstrip("\n")
    )
    lines[line - 1] += "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_a_broken_copy_of_a_real_program_reports_each_planted_error(tmp_path: Path) -> None:
    pack = tmp_path / "calmer-days"
    shutil.copytree(_real_pack("calmer-days"), pack)
    doc = load_pack(pack)
    assert doc.problems == []
    raw = _raw_yaml(pack)
    chapters = raw["chapters"]
    first_steps, second_steps = chapters[0]["steps"], chapters[1]["steps"]
    exercise_step = next(s for c in chapters for s in c["steps"] if s.get("kind") == "exercise")
    other_step = next(s for s in second_steps if "unlock" in s or "hint" in s)
    yaml_file = pack / "pack.yaml"
    planted: list[tuple[str, int, str]] = []

    line = first_steps[1].key_lines["minutes"]
    _set_value(yaml_file, line, "45")
    planted.append(("pack.yaml", line, "minutes is 45; it must be a whole number from 1 to 15"))

    line = exercise_step.key_lines["exercise"]
    _set_value(yaml_file, line, "tap_dancing")
    planted.append(("pack.yaml", line, "unknown exercise kind 'tap_dancing'"))

    line = chapters[1].key_lines["key"]
    _set_value(yaml_file, line, chapters[0]["key"])
    planted.append(("pack.yaml", line, f"chapter key '{chapters[0]['key']}' is used twice"))

    line = second_steps[0].key_lines["key"]
    _set_value(yaml_file, line, first_steps[0]["key"])
    planted.append(("pack.yaml", line, f"step key '{first_steps[0]['key']}' is used twice"))

    field = "unlock" if "unlock" in other_step else "hint"
    line = other_step.key_lines[field]
    lines = yaml_file.read_text().splitlines(keepends=True)
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
    lines[line - 1] = f"{indent}unlock: {{after: no-such-step}}\n"
    yaml_file.write_text("".join(lines))
    planted.append(("pack.yaml", line, "unlock after 'no-such-step', but there is no step"))

    body = first_steps[0]["body"]
    text = (pack / body).read_text().rstrip("\n")
    html_line = len(text.splitlines()) + 2
    (pack / body).write_text(text + "\n\n<div onclick='x()'>Hello</div>\n")
    planted.append((body, html_line, "raw HTML is not allowed in Markdown"))

    other_body = second_steps[1]["body"] if "body" in second_steps[1] else chapters[1]["closing"]
    text = (pack / other_body).read_text().rstrip("\n")
    link_line = len(text.splitlines()) + 2
    (pack / other_body).write_text(text + "\n\nSee [this](javascript:alert(1)).\n")
    planted.append((other_body, link_line, "link to 'javascript:' is not allowed"))

    intro = chapters[2]["intro"]
    (pack / intro).write_text("\n")
    planted.append((intro, 1, "the file is empty"))

    problems = located(check_pack(pack))
    for file, line, fragment in planted:
        assert any(f == file and n == line and fragment in message for f, n, message in problems), (
            f"{file}:{line}: {fragment!r} not reported; got {problems}"
        )
    assert len(problems) >= len(planted)


def _raw_yaml(pack: Path) -> LineDict:
    from trellis.programs.yamlfile import LineLoader

    loader = LineLoader((pack / "pack.yaml").read_text(encoding="utf-8"))
    loader.duplicates = []
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
