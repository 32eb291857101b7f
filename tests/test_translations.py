"""Every interface string is translated into every language Trellis speaks.

`trellis i18n check` runs the same checks (docs/languages.md); these tests keep them
true in every test run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
import pytest
from django.core.management import call_command
from django.utils import translation

from trellis.core import i18n


def test_every_shipped_string_is_translated_compiled_and_marked() -> None:
    found = i18n.shipped_findings()
    assert not found, "\n".join(str(f) for f in found)


@pytest.mark.skipif(not i18n.can_extract(), reason="GNU gettext (xgettext) is not installed")
def test_the_code_holds_no_string_the_catalogues_lack() -> None:
    found = i18n.extraction_findings()
    assert not found, "\n".join(str(f) for f in found)


def test_every_language_but_english_has_a_catalogue() -> None:
    assert i18n.languages() == ["fi", "es"]
    for language in i18n.languages():
        assert i18n.po_path(i18n.locale_dir(), language).is_file()


def test_every_catalogue_compiles_with_nothing_but_python(tmp_path: Path) -> None:
    copy = tmp_path / "locale"
    for language in i18n.languages():
        source = i18n.po_path(i18n.locale_dir(), language)
        target = i18n.po_path(copy, language)
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
    written = i18n.compile_catalogues(copy)
    assert len(written) == len(i18n.languages())
    for mo in written:
        compiled = polib.mofile(str(mo))
        translated = polib.pofile(str(mo.with_suffix(".po"))).translated_entries()
        assert len(compiled) >= len(translated) > 1000


def _po(tmp_path: Path, *entries: polib.POEntry) -> Path:
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for entry in entries:
        catalogue.append(entry)
    path = tmp_path / "django.po"
    catalogue.save(str(path))
    return path


def test_an_untranslated_string_is_reported(tmp_path: Path) -> None:
    path = _po(tmp_path, polib.POEntry(msgid="Save the note", msgstr=""))
    [finding] = i18n.catalogue_findings(path)
    assert "untranslated: 'Save the note'" in str(finding)


def test_a_fuzzy_translation_is_reported(tmp_path: Path) -> None:
    entry = polib.POEntry(msgid="Save the note", msgstr="Tallenna", flags=["fuzzy"])
    [finding] = i18n.catalogue_findings(_po(tmp_path, entry))
    assert "fuzzy" in str(finding)


def test_an_untranslated_plural_is_reported(tmp_path: Path) -> None:
    entry = polib.POEntry(
        msgid="%(n)s step", msgid_plural="%(n)s steps", msgstr_plural={0: "%(n)s vaihe", 1: ""}
    )
    [finding] = i18n.catalogue_findings(_po(tmp_path, entry))
    assert "untranslated plural" in str(finding)


def test_a_translation_that_loses_a_placeholder_is_reported(tmp_path: Path) -> None:
    entry = polib.POEntry(msgid="Hello %(name)s,", msgstr="Hei,", flags=["python-format"])
    [finding] = i18n.catalogue_findings(_po(tmp_path, entry))
    assert "placeholders differ" in str(finding)


def test_a_translated_catalogue_has_no_findings(tmp_path: Path) -> None:
    entry = polib.POEntry(msgid="Hello %(name)s,", msgstr="Hei %(name)s,")
    assert i18n.catalogue_findings(_po(tmp_path, entry)) == []


def test_a_stale_compiled_catalogue_is_reported(tmp_path: Path, settings: Any) -> None:
    folder = tmp_path / "locale"
    po = i18n.po_path(folder, "fi")
    po.parent.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    catalogue.append(polib.POEntry(msgid="Save", msgstr="Tallenna"))
    catalogue.save(str(po))
    i18n.compile_catalogues(folder)
    assert i18n.mo_findings(folder) == []
    catalogue.append(polib.POEntry(msgid="Back", msgstr="Takaisin"))
    catalogue.save(str(po))
    [finding] = i18n.mo_findings(folder)
    assert "out of date" in str(finding)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("<p>Welcome back</p>", ["Welcome back"]),
        ('<a href="/" aria-label="Close">&times;</a>', ['aria-label="Close"']),
        ("<p>{{ count }} steps left</p>", ["steps left"]),
        ("<a href=\"{% url 'x' %}\">Go home</a>", ["Go home"]),
    ],
)
def test_text_outside_translate_tags_is_found(template: str, expected: list[str]) -> None:
    found = [s.replace("\x00", "…") for s in i18n.unmarked_in_template(template)]
    assert [" ".join(s.split()) for s in found] == expected


@pytest.mark.parametrize(
    "template",
    [
        "{% load i18n %}<p>{% translate 'Welcome back' %}</p>",
        "{% load i18n %}<p>{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}</p>",
        "<a aria-label=\"{% translate 'Close' %}\">&times;</a>",
        "<p>{{ step.title }} · PHQ-9</p>",
        "{% comment %}Only notes for developers here{% endcomment %}",
        "<script>const words = 'not shown';</script>",
        "{% block body_class %}journey simple-mode{% endblock %}",
    ],
)
def test_marked_or_invisible_text_is_not_reported(template: str) -> None:
    assert i18n.unmarked_in_template(template) == []


def test_the_compiled_catalogues_are_what_django_reads() -> None:
    with translation.override("fi"):
        assert translation.gettext("Sign in to Trellis") == "Kirjaudu Trellisiin"
    with translation.override("es"):
        assert translation.gettext("Sign in to Trellis") == "Inicia sesión en Trellis"


def test_a_string_missing_from_a_catalogue_shows_in_english() -> None:
    with translation.override("fi"):
        assert translation.gettext("A sentence no catalogue holds.") == (
            "A sentence no catalogue holds."
        )


def test_the_check_command_lists_each_problem_and_fails(
    tmp_path: Path, settings: Any, capsys: Any
) -> None:
    folder = tmp_path / "locale"
    for language in i18n.languages():
        po = i18n.po_path(folder, language)
        po.parent.mkdir(parents=True)
        po.write_bytes(i18n.po_path(i18n.locale_dir(), language).read_bytes())
        catalogue = polib.pofile(str(po))
        catalogue.append(polib.POEntry(msgid="A sentence nobody translated", msgstr=""))
        catalogue.save(str(po))
    i18n.compile_catalogues(folder)
    settings.LOCALE_PATHS = [folder]
    with pytest.raises(SystemExit) as stop:
        call_command("i18n", "check")
    assert stop.value.code == 1
    out = capsys.readouterr().out
    assert "fi/LC_MESSAGES/django.po: untranslated: 'A sentence nobody translated'" in out
    assert "es/LC_MESSAGES/django.po: untranslated: 'A sentence nobody translated'" in out
