"""A program in other languages: the translation beside the pack, checked, published with
the version, shown in the reader's language, English wherever it is missing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from trellis.care.models import SupportLevel
from trellis.core import timeutil
from trellis.onboarding.services import enroll_patient
from trellis.programs import translations
from trellis.programs.models import Chapter, ProgramVersion, Step
from trellis.programs.packs import load_pack
from trellis.programs.services import publish_pack

CONTENT = Path(__file__).resolve().parents[3] / "content"
CALMER = CONTENT / "calmer-days"


@pytest.mark.parametrize("slug", ["calmer-days", "better-sleep", "moving-forward"])
def test_the_program_is_fully_translated_into_finnish_and_spanish(slug: str) -> None:
    pack = load_pack(CONTENT / slug)
    assert pack.problems == []
    words = pack.data["translations"]
    assert set(words) == {"fi", "es"}
    keys = {s["key"] for c in pack.data["chapters"] for s in c["steps"]}
    bodies = {s["key"] for c in pack.data["chapters"] for s in c["steps"] if s["body"]}
    for language in ("fi", "es"):
        assert words[language]["title"]
        assert set(words[language]["chapters"]) == {c["key"] for c in pack.data["chapters"]}
        for chapter in words[language]["chapters"].values():
            assert chapter["title"] and chapter["intro_md"] and chapter["closing_md"]
            assert chapter["skills"]
        assert set(words[language]["steps"]) == keys
        assert {k for k, s in words[language]["steps"].items() if "body_md" in s} == bodies


def test_the_translation_files_count_in_the_checksum() -> None:
    pack = load_pack(CALMER)
    assert "locale/fi/pack.yaml" in pack.files
    assert "locale/es/chapters/01-noticing/intro.md" in pack.files


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "calmer-days"
    shutil.copytree(CALMER, target)
    return target


def test_unknown_keys_and_wrong_lists_are_reported_with_file_and_line(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    (pack / "locale" / "fi" / "pack.yaml").write_text(
        "title: Rauhallisemmat päivät\n"
        "chapters:\n"
        "  noticing:\n"
        "    skills: [Vain yksi]\n"
        "    steps:\n"
        "      no-such-step:\n"
        "        title: Ei ole\n"
        "      first-breathing:\n"
        "        settings: {inhale: 5}\n"
        "  nowhere:\n"
        "    title: Ei missään\n",
        encoding="utf-8",
    )
    problems = {(p.file, p.line, p.message) for p in load_pack(pack).problems}
    where = "locale/fi/pack.yaml"
    assert (where, 4, "chapter 'noticing': 'skills' must list 3 texts, as in English") in problems
    assert (where, 6, "chapter 'noticing' has no step 'no-such-step'") in problems
    assert (where, 10, "the English pack has no chapter 'nowhere'") in problems
    assert any(
        file == where and line == 9 and "only the words of a setting" in message
        for file, line, message in problems
    )


@pytest.fixture
def calmer(db: Any) -> ProgramVersion:
    translations.clear_cache()
    return publish_pack(CALMER, actor=None)


def test_rows_load_in_the_readers_language_and_the_database_keeps_english(
    calmer: ProgramVersion,
) -> None:
    with translation.override("fi"):
        step = Step.objects.get(version=calmer, key="what-stress-does")
        chapter = Chapter.objects.get(version=calmer, key="noticing")
        version = ProgramVersion.objects.get(pk=calmer.pk)
        assert step.title == "Mitä stressi tekee kehossasi"
        assert "hälytysjärjestelmä" in step.body_html
        assert chapter.title == "Stressin huomaaminen"
        assert "Tervetuloa Rauhallisempiin päiviin" in chapter.intro_html
        assert chapter.skills[1] == "Tunnistat omat varhaiset stressin merkkisi"
        assert version.title == "Rauhallisemmat päivät"
        journaling = Step.objects.get(version=calmer, key="body-signals")
        assert journaling.settings["prompt"].startswith("Mieti äskettäistä hetkeä")
        assert journaling.settings["min_words"] == 0
    with translation.override("es"):
        assert Step.objects.get(version=calmer, key="worry-time").title == (
            "Prepara tu momento de preocuparte"
        )
    with translation.override("en"):
        assert Step.objects.get(version=calmer, key="what-stress-does").title == (
            "What stress does in your body"
        )
    stored = Step.objects.filter(version=calmer, key="what-stress-does").values_list(
        "title", flat=True
    )
    with translation.override("fi"):
        assert list(stored) == ["What stress does in your body"]


def test_a_missing_translation_falls_back_to_english_part_by_part(tmp_path: Path, db: Any) -> None:
    pack = _copy(tmp_path)
    shutil.rmtree(pack / "locale" / "es")
    (pack / "locale" / "fi" / "chapters" / "01-noticing" / "what-stress-does.md").unlink()
    (pack / "locale" / "fi" / "pack.yaml").write_text(
        "chapters:\n  noticing:\n    steps:\n      body-signals:\n        title: Kehosi merkit\n",
        encoding="utf-8",
    )
    translations.clear_cache()
    version = publish_pack(pack, actor=None)
    with translation.override("fi"):
        lesson = Step.objects.get(version=version, key="what-stress-does")
        assert lesson.title == "What stress does in your body"
        assert "alarm system" in lesson.body_html
        assert Step.objects.get(version=version, key="body-signals").title == "Kehosi merkit"
        # Markdown still translated where its file is there.
        assert "Tervetuloa" in Chapter.objects.get(version=version, key="noticing").intro_html
    with translation.override("es"):
        assert Step.objects.get(version=version, key="body-signals").title == (
            "Your body's stress signals"
        )


def test_a_program_without_translations_is_english_in_every_language(
    tmp_path: Path, db: Any
) -> None:
    pack = tmp_path / "moving-forward"
    shutil.copytree(CONTENT / "moving-forward", pack)
    shutil.rmtree(pack / "locale")
    version = publish_pack(pack, actor=None)
    english = Step.objects.filter(version=version).order_by("position").first()
    assert english is not None
    with translation.override("fi"):
        finnish = Step.objects.get(pk=english.pk)
        assert finnish.title == english.title


def test_todays_page_speaks_the_patients_language(
    calmer: ProgramVersion, cast: Any, client_for: Any
) -> None:
    alex = cast["patient_alex"]
    enroll_patient(
        patient=alex,
        program_version=calmer,
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=timeutil.now(),
    )
    client = client_for("patient_alex")
    for language, words in (
        ("fi", "Mitä stressi tekee kehossasi"),
        ("es", "Qué hace el estrés en tu cuerpo"),
        ("en", "What stress does in your body"),
    ):
        alex.language = language
        alex.save(update_fields=["language"])
        page = client.get(reverse("journey:today"), follow=True)
        assert page.status_code == 200
        html = page.content.decode()
        assert f'<html lang="{language}">' in html
        assert words in html, page.redirect_chain
