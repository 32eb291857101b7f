"""Questionnaires in other languages: only validated wording, scoring and safety unchanged."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from trellis.alerts.models import Alert, AlertKind, SafetyEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.measures import services as measures
from trellis.measures.models import (
    AssignmentStatus,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.programs.instruments import (
    all_instruments,
    get_instrument,
    localized,
    parse_instrument,
)

PHQ9_ITEMS = [f"q{n}" for n in range(1, 10)]


def test_spanish_phq9_is_the_validated_wording_with_its_source() -> None:
    english = get_instrument("PHQ-9")
    spanish = localized(english, "es")
    assert spanish.language == "es"
    assert spanish.language_note == ""
    assert spanish.instructions.startswith("Durante las últimas 2 semanas")
    assert spanish.item("q9") is not None
    assert spanish.item("q9").text == (  # type: ignore[union-attr]
        "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"
    )
    assert [o.label for o in spanish.options] == [
        "Ningún día",
        "Varios días",
        "Más de la mitad de los días",
        "Casi todos los días",
    ]
    source = english.translation("es")
    assert source is not None and "Pfizer" in source.source


def test_the_wording_never_changes_how_an_answer_is_scored() -> None:
    english = get_instrument("PHQ-9")
    for language in ("es", "fi"):
        worded = localized(english, language)
        assert [o.value for o in worded.options] == [o.value for o in english.options]
        assert [i.id for i in worded.items] == [i.id for i in english.items]
        assert [(i.scored, i.required) for i in worded.items] == [
            (i.scored, i.required) for i in english.items
        ]
        assert worded.bands == english.bands
        assert worded.safety_rules == english.safety_rules
        assert (worded.caseness, worded.reliable_change) == (
            english.caseness,
            english.reliable_change,
        )


@pytest.mark.parametrize("code", ["PHQ-9", "GAD-7", "eHEALS", "PHQ-2", "GAD-2"])
def test_without_a_validated_translation_english_is_shown_with_a_note(code: str) -> None:
    instrument = get_instrument(code)
    if instrument.translation("fi") is not None:
        pytest.skip("a validated Finnish wording is shipped")
    finnish = localized(instrument, "fi")
    assert finnish.language == "en"
    assert finnish.items == instrument.items
    assert finnish.language_note.startswith("Tämä kysely näytetään englanniksi")


@pytest.mark.parametrize("code", ["GAD-7", "eHEALS", "GAD-2"])
def test_spanish_readers_see_english_where_no_validated_spanish_is_shipped(code: str) -> None:
    spanish = localized(get_instrument(code), "es")
    assert spanish.language == "en"
    assert spanish.language_note.startswith("Este cuestionario se muestra en inglés")


def test_english_readers_get_the_file_as_it_is() -> None:
    english = get_instrument("PHQ-9")
    assert localized(english, "en") is english


def test_every_shipped_translation_names_its_source_and_covers_every_item() -> None:
    for instrument in all_instruments().values():
        for found in instrument.translations:
            assert len(found.source) > 40, f"{instrument.code} {found.language} names a source"
            assert {item for item, _text in found.item_texts} == {i.id for i in instrument.items}


BASE = """
format: 1
code: TEST-2
title: Test
instructions: Answer.
options:
  - {value: 0, label: Never}
  - {value: 1, label: Often}
items:
  - id: q1
    text: One
  - id: q2
    text: Two
total: {min: 0, max: 2}
bands:
  - {low: 0, high: 2, label: All, severity: all}
citation: A paper.
licence: Free.
"""


def test_a_translation_missing_an_item_or_its_source_is_refused_with_lines() -> None:
    text = BASE + (
        "translations:\n"
        "  fi:\n"
        "    title: Testi\n"
        "    instructions: Vastaa.\n"
        "    options: [Ei koskaan, Usein]\n"
        "    items:\n"
        "      q1: Yksi\n"
        "      q3: Kolme\n"
    )
    instrument, problems = parse_instrument(text, file="t.instrument.yaml")
    assert instrument is None
    messages = [p.message for p in problems]
    assert "translation 'fi' is missing the required field 'source'" in messages
    assert "translation 'fi': item 'q2' is missing" in messages
    assert "translation 'fi': no item 'q3'" in messages


def test_a_translation_with_the_wrong_number_of_options_is_refused() -> None:
    text = BASE + (
        "translations:\n"
        "  es:\n"
        "    source: A validated Spanish version, published somewhere citable.\n"
        "    title: Prueba\n"
        "    instructions: Responda.\n"
        "    options: [Nunca]\n"
        "    items: {q1: Uno, q2: Dos}\n"
    )
    _instrument, problems = parse_instrument(text, file="t.instrument.yaml")
    assert any("'options' must list 2 labels" in p.message for p in problems)


# The safety pathway in every language --------------------------------------------------


@pytest.fixture
def enrollment(cast: personas.Cast) -> Enrollment:
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    measures.schedule_for_enrollment(enrollment, now=enrollment.started_at)
    return enrollment


def _open_phq9(enrollment: Enrollment) -> QuestionnaireAssignment:
    now = timeutil.now()
    found = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument="PHQ-9",
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE],
            due_from__lte=now,
            closes_at__gt=now,
        )
        .order_by("due_from")
        .first()
    )
    assert found is not None, "no PHQ-9 open now"
    return found


@pytest.mark.parametrize(("language", "shown"), [("fi", "Thoughts that you"), ("es", "lastimarse")])
def test_item_9_above_zero_raises_the_same_alert_in_every_language(
    enrollment: Enrollment, client_for: Any, cast: Any, language: str, shown: str
) -> None:
    alex = cast["patient_alex"]
    alex.language = language
    alex.save(update_fields=["language"])
    client = client_for("patient_alex")
    url = reverse("measures:answer", kwargs={"assignment_id": _open_phq9(enrollment).pk})
    form = client.get(url).content.decode()
    assert f'<html lang="{language}">' in form
    assert shown in form
    data = {f"item-{item}": "0" for item in PHQ9_ITEMS}
    data.update({"item-q9": "1", "client_id": str(uuid.uuid4())})
    page = client.post(url, data)
    assert page.status_code == 200
    assert 'class="card crisis"' in page.content.decode()
    event = SafetyEvent.objects.get(enrollment=enrollment)
    assert (event.item, event.value) == ("q9", 1)
    assert Alert.objects.filter(kind=AlertKind.SAFETY).count() == 1
    response = QuestionnaireResponse.objects.get(enrollment=enrollment)
    # Stored as the instrument scores it, whatever the language it was asked in.
    assert (response.total, response.band) == (1, "Minimal")


def test_the_result_page_names_the_band_in_the_readers_language(
    enrollment: Enrollment, client_for: Any, cast: Any
) -> None:
    alex = cast["patient_alex"]
    alex.language = "fi"
    alex.save(update_fields=["language"])
    client = client_for("patient_alex")
    url = reverse("measures:answer", kwargs={"assignment_id": _open_phq9(enrollment).pk})
    data = {f"item-{item}": "1" for item in PHQ9_ITEMS}
    data.update({"item-q9": "0", "client_id": str(uuid.uuid4())})
    html = client.post(url, data).content.decode()
    assert "”Lievä”" in html
    assert QuestionnaireResponse.objects.get(enrollment=enrollment).band == "Mild"
    with translation.override("en"):
        assert get_instrument("PHQ-9").title == "Patient Health Questionnaire (PHQ-9)"
