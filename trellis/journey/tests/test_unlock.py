"""Unlock rules, with no database: plain reasons, and properties that hold for any program."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from trellis.journey.unlock import StepRule, evaluate

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
STEPS = [
    StepRule("what-stress-does", "noticing", "What stress does"),
    StepRule("slow-breathing", "noticing", "Slow breathing"),
    StepRule("looking-back", "noticing", "Looking back", {"days_after_chapter_start": 3}),
    StepRule("five-senses", "coping", "Five senses", {"after": "slow-breathing"}),
    StepRule(
        "extra-support",
        "coping",
        "Extra support",
        {"score": {"instrument": "GAD-7", "at_least": 10}},
    ),
]


def test_the_first_step_is_open_and_the_next_waits_for_it_by_name() -> None:
    verdicts = evaluate(STEPS, completed={}, now=NOW)
    assert verdicts["what-stress-does"].status == "available"
    assert verdicts["slow-breathing"].status == "locked"
    assert verdicts["slow-breathing"].reason == "Opens after you finish 'What stress does'"


def test_a_days_rule_names_the_weekday_it_opens() -> None:
    done = {"what-stress-does": NOW, "slow-breathing": NOW}
    verdicts = evaluate(STEPS, completed=done, chapter_started={"noticing": NOW}, now=NOW)
    assert verdicts["looking-back"].reason == "Opens on Thursday"
    later = evaluate(
        STEPS, completed=done, chapter_started={"noticing": NOW}, now=NOW + timedelta(days=3)
    )
    assert later["looking-back"].status == "available"


def test_a_days_rule_counts_calendar_days_in_the_patients_zone() -> None:
    helsinki = ZoneInfo("Europe/Helsinki")
    done = {"what-stress-does": NOW, "slow-breathing": NOW}
    started = datetime(2026, 3, 2, 23, 30, tzinfo=helsinki)  # late Monday evening
    just_before = datetime(2026, 3, 4, 23, 59, tzinfo=helsinki)
    thursday = datetime(2026, 3, 5, 0, 1, tzinfo=helsinki)
    args = {"completed": done, "chapter_started": {"noticing": started}, "tz": helsinki}
    assert evaluate(STEPS, now=just_before, **args)["looking-back"].reason == "Opens tomorrow"
    assert evaluate(STEPS, now=thursday, **args)["looking-back"].status == "available"


def test_an_after_rule_waits_for_the_named_step_only_inside_its_chapter() -> None:
    steps = [
        StepRule("a", "c", "A"),
        StepRule("b", "c", "B", {"days_after_chapter_start": 3}),
        StepRule("d", "c", "D", {"after": "a"}),
    ]
    verdicts = evaluate(steps, completed={"a": NOW}, chapter_started={"c": NOW}, now=NOW)
    assert verdicts["b"].status == "locked"
    assert verdicts["d"].status == "available"  # b is not needed


def test_an_after_rule_never_opens_a_chapter_before_the_one_before_it_is_finished() -> None:
    verdicts = evaluate(STEPS, completed={"what-stress-does": NOW, "slow-breathing": NOW}, now=NOW)
    assert verdicts["five-senses"].status == "locked"
    assert "when you finish 'noticing'" in verdicts["five-senses"].reason


PACED = [
    StepRule("one", "noticing", "One", chapter_number=1, chapter_title="Noticing stress"),
    StepRule("two", "noticing", "Two", chapter_number=1, chapter_title="Noticing stress"),
    StepRule(
        "three", "calming", "Three", chapter_number=2, chapter_title="Calming", chapter_min_days=3
    ),
    StepRule("four", "calming", "Four", chapter_number=2, chapter_title="Calming"),
]


def test_a_chapter_waits_for_the_one_before_it_to_be_finished() -> None:
    verdicts = evaluate(PACED, completed={"one": NOW}, chapter_started={"noticing": NOW}, now=NOW)
    assert verdicts["three"].status == "locked"
    assert verdicts["three"].reason == "Chapter 2 opens when you finish 'Noticing stress'"


def test_a_chapter_with_min_days_opens_that_many_days_after_the_one_before_it_opened() -> None:
    done = {"one": NOW, "two": NOW + timedelta(hours=1)}
    started = {"noticing": NOW}
    soon = evaluate(PACED, completed=done, chapter_started=started, now=NOW + timedelta(hours=2))
    assert soon["three"].status == "locked"
    assert soon["three"].reason == "Chapter 2 opens on Thursday"
    assert soon["three"].opens_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert soon["four"].reason == "Chapter 2 opens on Thursday"
    eve = evaluate(PACED, completed=done, chapter_started=started, now=NOW + timedelta(days=2))
    assert eve["three"].reason == "Chapter 2 opens tomorrow"
    thursday = evaluate(PACED, completed=done, chapter_started=started, now=NOW + timedelta(days=3))
    assert thursday["three"].status == "available"
    assert thursday["four"].reason == "Opens after you finish 'Three'"


def test_a_chapter_paced_by_min_days_opens_at_once_when_the_days_have_passed() -> None:
    done = {"one": NOW, "two": NOW + timedelta(days=5)}
    verdicts = evaluate(
        PACED, completed=done, chapter_started={"noticing": NOW}, now=NOW + timedelta(days=5)
    )
    assert verdicts["three"].status == "available"


def test_pacing_never_takes_back_a_step_already_started() -> None:
    verdicts = evaluate(PACED, completed={"one": NOW}, started={"three"}, now=NOW)
    assert verdicts["three"].status == "started"


def test_a_score_rule_opens_when_the_check_in_suggests_it() -> None:
    done = {s.key: NOW for s in STEPS[:4]}
    locked = evaluate(STEPS, completed=done, scores={"GAD-7": 6}, now=NOW)["extra-support"]
    assert locked.reason == "Opens when your weekly check-in suggests it"
    assert evaluate(STEPS, completed=done, now=NOW)["extra-support"].status == "locked"
    opened = evaluate(STEPS, completed=done, scores={"GAD-7": 12}, now=NOW)
    assert opened["extra-support"].status == "available"
    below = [
        StepRule("a", "c", "A"),
        StepRule("b", "c", "B", {"score": {"instrument": "PHQ-9", "below": 5}}),
    ]
    assert (
        evaluate(below, completed={"a": NOW}, scores={"PHQ-9": 4}, now=NOW)["b"].status
        == "available"
    )
    assert (
        evaluate(below, completed={"a": NOW}, scores={"PHQ-9": 5}, now=NOW)["b"].status == "locked"
    )


def test_started_and_completed_steps_keep_their_status() -> None:
    verdicts = evaluate(STEPS, completed={"looking-back": NOW}, started={"slow-breathing"}, now=NOW)
    assert verdicts["looking-back"].status == "completed"
    assert verdicts["slow-breathing"].status == "started"


rules = st.one_of(
    st.just({}),
    st.just({"after": "previous"}),
    st.integers(min_value=0, max_value=10).map(lambda n: {"days_after_chapter_start": n}),
    st.integers(min_value=0, max_value=27).map(
        lambda t: {"score": {"instrument": "PHQ-9", "at_least": t}}
    ),
)


@st.composite
def programs(draw: st.DrawFn) -> list[StepRule]:
    count = draw(st.integers(min_value=1, max_value=12))
    steps: list[StepRule] = []
    for i in range(count):
        rule = draw(rules)
        if i > 1 and draw(st.booleans()):
            rule = {"after": steps[draw(st.integers(0, i - 1))].key}
        steps.append(StepRule(f"s{i}", f"c{i // 3}", f"Step {i}", rule))
    return steps


@given(
    programs(),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=20),
    st.one_of(st.none(), st.integers(min_value=0, max_value=27)),
)
def test_completing_steps_in_order_never_locks_an_earlier_step(
    steps: list[StepRule], done_count: int, days_later: int, score: int | None
) -> None:
    now = NOW + timedelta(days=days_later)
    scores = {} if score is None else {"PHQ-9": score}
    starts = {s.chapter_key: NOW for s in steps}
    completed: dict[str, datetime] = {}
    before = evaluate(steps, completed=completed, chapter_started=starts, scores=scores, now=now)
    assert before[steps[0].key].status == "available"
    for step in steps[:done_count]:
        completed[step.key] = now
        after = evaluate(steps, completed=completed, chapter_started=starts, scores=scores, now=now)
        assert after[steps[0].key].status != "locked"
        for key, verdict in before.items():
            # More progress never closes a step that was open.
            if verdict.status != "locked":
                assert after[key].status != "locked", key
        for done in completed:
            assert after[done].status == "completed"
        before = after


@given(programs(), st.integers(min_value=0, max_value=20))
def test_every_locked_step_says_why_in_words(steps: list[StepRule], days_later: int) -> None:
    verdicts = evaluate(steps, completed={}, now=NOW + timedelta(days=days_later))
    for verdict in verdicts.values():
        assert (verdict.status == "locked") == bool(verdict.reason)
        assert verdict.reason.startswith(("Opens", "Chapter")) or not verdict.reason


@given(programs(), st.integers(min_value=0, max_value=30))
def test_waiting_longer_never_locks_a_step(steps: list[StepRule], days: int) -> None:
    completed = {s.key: NOW for s in steps[:-1]}
    starts = {s.chapter_key: NOW for s in steps}
    early = evaluate(steps, completed=completed, chapter_started=starts, now=NOW)
    late = evaluate(
        steps, completed=completed, chapter_started=starts, now=NOW + timedelta(days=days)
    )
    for key, verdict in early.items():
        if verdict.status != "locked":
            assert late[key].status != "locked"
