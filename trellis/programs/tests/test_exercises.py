"""The exercise kinds: settings, answers and summaries (pure logic, no database)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trellis.programs.exercises import (
    EXERCISE_KINDS,
    IntSetting,
    known_instruments,
    sleep_efficiency,
    time_in_bed_minutes,
)

KIND_NAMES = [
    "paced_breathing",
    "grounding",
    "journaling",
    "thought_record",
    "behavioural_activation",
    "worry_time",
    "mindfulness",
    "sleep_diary",
]


def errors_of(kind: str, data: dict, settings: dict | None = None) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        EXERCISE_KINDS[kind].validate_response(data, settings or {})
    return caught.value.message_dict


def test_the_eight_documented_kinds_exist_with_labels() -> None:
    assert sorted(EXERCISE_KINDS) == sorted(KIND_NAMES)
    for kind in EXERCISE_KINDS.values():
        assert str(kind.label)
        assert kind.validate_settings(kind.defaults) == []


def test_breathing_defaults_match_the_content_format() -> None:
    assert EXERCISE_KINDS["paced_breathing"].defaults == {
        "inhale": 4,
        "hold": 0,
        "exhale": 6,
        "duration_minutes": 5,
    }
    assert EXERCISE_KINDS["grounding"].defaults == {"counts": [5, 4, 3, 2, 1]}
    assert EXERCISE_KINDS["worry_time"].defaults == {"worry_minutes": 15}


def test_unknown_and_out_of_range_settings_are_named() -> None:
    problems = EXERCISE_KINDS["paced_breathing"].validate_settings(
        {"inhale": 40, "speed": 2, "duration_minutes": "five"}
    )
    assert "setting 'inhale' is 40; it must be from 1 to 10 seconds" in problems
    assert any("unknown setting 'speed'" in p for p in problems)
    assert "setting 'duration_minutes' must be a whole number" in problems
    assert EXERCISE_KINDS["grounding"].validate_settings({"counts": [5, 4, 3]}) == [
        "setting 'counts' must have 5 numbers (one per sense)"
    ]
    assert EXERCISE_KINDS["sleep_diary"].validate_settings("fast") == [
        "settings must be a mapping of option names to values"
    ]


def test_breathing_answer_keeps_chosen_minutes_and_refuses_eleven() -> None:
    kind = EXERCISE_KINDS["paced_breathing"]
    cleaned = kind.validate_response({"minutes": "3", "breaths": 18}, {})
    assert cleaned == {"minutes": 3, "breaths": 18}
    assert kind.summary(cleaned) == "18"
    assert errors_of("paced_breathing", {"minutes": 11}) == {
        "minutes": ["Please enter a number from 1 to 10."]
    }


def test_thought_record_needs_its_parts_and_intensity_0_to_100() -> None:
    errors = errors_of(
        "thought_record",
        {"situation": "Meeting", "automatic_thought": "", "intensity_before": 140},
    )
    assert errors["automatic_thought"] == ["Please fill this in."]
    assert errors["intensity_before"] == ["Please enter a number from 0 to 100."]
    assert "emotion" in errors and "balanced_thought" in errors
    cleaned = EXERCISE_KINDS["thought_record"].validate_response(
        {
            "situation": " Meeting ",
            "automatic_thought": "They think I'm useless",
            "emotion": "anxious",
            "intensity_before": "80",
            "evidence_for": "",
            "evidence_against": "My manager thanked me",
            "balanced_thought": "One quiet meeting says little",
            "intensity_after": 40,
            "csrfmiddlewaretoken": "dropped",
        },
        {},
    )
    assert cleaned["situation"] == "Meeting"
    assert "csrfmiddlewaretoken" not in cleaned
    assert EXERCISE_KINDS["thought_record"].summary(cleaned) == "-40"


def test_free_text_over_5000_characters_is_refused_with_the_count() -> None:
    errors = errors_of("journaling", {"text": "a" * 5001})
    assert errors == {"text": ["Please keep this to 5,000 characters (it has 5,001)."]}


def test_journaling_counts_words_against_min_words() -> None:
    errors = errors_of("journaling", {"text": "just three words"}, {"min_words": 10})
    assert errors == {"text": ["Please write at least 10 words (you have 3 so far)."]}
    kind = EXERCISE_KINDS["journaling"]
    assert kind.summary(kind.validate_response({"text": "one two"}, {})) == "2"


def test_activation_plans_then_rates_mood_and_mastery_0_to_10() -> None:
    kind = EXERCISE_KINDS["behavioural_activation"]
    plan = kind.validate_response(
        {"activity": "Walk to the park", "planned_date": "2025-03-14", "planned_time": "10:30"},
        {},
    )
    assert plan["done"] is False and kind.summary(plan) == "planned"
    errors = errors_of(
        "behavioural_activation",
        {
            "activity": "Walk",
            "planned_date": "14/03",
            "planned_time": "25:00",
            "done": "on",
            "mood": 11,
        },
    )
    assert set(errors) == {"planned_date", "planned_time", "mood"}
    assert errors_of(
        "behavioural_activation",
        {"activity": "Walk", "planned_date": "2025-03-14", "planned_time": "10:30", "mood": 5},
    ) == {"mood": ["Rate this after you have done the activity."]}


def test_worry_time_takes_one_worry_per_line_and_a_time() -> None:
    kind = EXERCISE_KINDS["worry_time"]
    cleaned = kind.validate_response({"worries": "Rent\n\nMum's test\n", "worry_time": "18:00"}, {})
    assert cleaned["worries"] == ["Rent", "Mum's test"]
    assert cleaned["worry_minutes"] == 15
    assert kind.summary(cleaned) == "2"
    assert set(errors_of("worry_time", {"worries": [], "worry_time": "6pm"})) == {
        "worries",
        "worry_time",
    }


def test_grounding_and_mindfulness_answers() -> None:
    grounding = EXERCISE_KINDS["grounding"]
    cleaned = grounding.validate_response({"see": "a lamp", "hear": "rain"}, {})
    assert grounding.summary(cleaned) == "2"
    mindfulness = EXERCISE_KINDS["mindfulness"]
    assert mindfulness.validate_response({}, {"duration_minutes": 8}) == {"minutes": 8}


def test_sleep_diary_across_midnight_gives_efficiency() -> None:
    kind = EXERCISE_KINDS["sleep_diary"]
    cleaned = kind.validate_response(
        {
            "bed_time": "23:00",
            "minutes_to_fall_asleep": "30",
            "wakings": 2,
            "minutes_awake": 30,
            "rise_time": "07:00",
        },
        {},
    )
    assert cleaned["time_in_bed_minutes"] == 480
    assert cleaned["time_asleep_minutes"] == 420
    assert cleaned["sleep_efficiency"] == 87.5
    assert kind.summary(cleaned) == "88"


def test_sleep_diary_after_midnight_bed_time() -> None:
    cleaned = EXERCISE_KINDS["sleep_diary"].validate_response(
        {"bed_time": "01:30", "minutes_to_fall_asleep": 0, "rise_time": "07:30"}, {}
    )
    assert cleaned["time_in_bed_minutes"] == 360
    assert cleaned["sleep_efficiency"] == 100.0


def test_sleep_diary_refuses_more_awake_than_in_bed() -> None:
    errors = errors_of(
        "sleep_diary",
        {
            "bed_time": "23:00",
            "minutes_to_fall_asleep": 200,
            "wakings": 1,
            "minutes_awake": 300,
            "rise_time": "06:00",
        },
    )
    assert errors == {
        "minutes_awake": [
            "Time to fall asleep and time awake add up to more than the 420 minutes in bed."
        ]
    }
    assert errors_of(
        "sleep_diary", {"bed_time": "23:00", "minutes_to_fall_asleep": 5, "rise_time": "23:00"}
    ) == {"rise_time": ["Bed time and rise time are the same; please check them."]}
    assert set(errors_of("sleep_diary", {"bed_time": "11pm", "minutes_to_fall_asleep": -5})) == {
        "bed_time",
        "rise_time",
        "minutes_to_fall_asleep",
    }


def test_a_response_that_is_not_a_mapping_is_refused() -> None:
    assert errors_of("mindfulness", ["minutes", 5]) == {  # type: ignore[arg-type]
        "response": ["The answer was not in the expected form."]
    }


def test_known_instruments_include_the_common_codes() -> None:
    assert known_instruments() == {"PHQ-9", "PHQ-2", "GAD-7", "GAD-2", "eHEALS"}


clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@given(
    bed=clock,
    rise=clock,
    to_sleep=st.integers(0, 1440),
    awake=st.integers(0, 1440),
    wakings=st.integers(1, 50),
)
def test_sleep_efficiency_is_always_between_0_and_100_for_accepted_diaries(
    bed: str, rise: str, to_sleep: int, awake: int, wakings: int
) -> None:
    data = {
        "bed_time": bed,
        "rise_time": rise,
        "minutes_to_fall_asleep": to_sleep,
        "minutes_awake": awake,
        "wakings": wakings,
    }
    try:
        cleaned = EXERCISE_KINDS["sleep_diary"].validate_response(data, {})
    except ValidationError:
        in_bed = time_in_bed_minutes(bed, rise)
        assert in_bed == 0 or in_bed > 18 * 60 or to_sleep + awake > in_bed
        return
    assert 0 <= cleaned["sleep_efficiency"] <= 100
    assert cleaned["time_asleep_minutes"] + to_sleep + awake == cleaned["time_in_bed_minutes"]


@given(in_bed=st.integers(1, 2000), asleep=st.integers(-100, 3000))
def test_sleep_efficiency_function_is_bounded(in_bed: int, asleep: int) -> None:
    assert 0 <= sleep_efficiency(in_bed, asleep) <= 100


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    kind_name=st.sampled_from(KIND_NAMES),
    values=st.dictionaries(
        st.sampled_from(["inhale", "hold", "exhale", "duration_minutes", "worry_minutes", "x"]),
        st.one_of(st.integers(-50, 200), st.booleans(), st.just("4")),
        max_size=3,
    ),
)
def test_settings_that_pass_validation_are_within_documented_ranges(
    kind_name: str, values: dict
) -> None:
    kind = EXERCISE_KINDS[kind_name]
    if kind.validate_settings(values):
        return
    resolved = kind.resolved_settings(values)
    for name, spec in kind.settings_spec.items():
        if isinstance(spec, IntSetting):
            value = resolved[name]
            assert isinstance(value, int) and not isinstance(value, bool)
            assert spec.low <= value <= spec.high


@given(
    kind_name=st.sampled_from(KIND_NAMES),
    data=st.dictionaries(
        st.text(max_size=20), st.one_of(st.none(), st.integers(), st.text(), st.booleans())
    ),
)
def test_any_answer_is_either_cleaned_or_refused_with_field_messages(
    kind_name: str, data: dict
) -> None:
    kind = EXERCISE_KINDS[kind_name]
    try:
        cleaned = kind.validate_response(data, {})
    except ValidationError as error:
        assert error.message_dict and all(error.message_dict.values())
        return
    assert isinstance(kind.summary(cleaned), str)
