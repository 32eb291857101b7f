"""Reply templates: the defaults for every gesture, and filling them from the record."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.urls import reverse

from trellis.accounts.models import Organization
from trellis.care.models import Enrollment
from trellis.demo import personas
from trellis.journey.services import complete_step
from trellis.messaging import placeholders, queries, services
from trellis.messaging.models import Gesture, ReplyTemplate
from trellis.programs.models import Step


def _complete(enrollment: Enrollment, key: str, at: datetime) -> None:
    step = Step.objects.get(version_id=enrollment.program_version_id, key=key)
    complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response={"minutes": 5, "breaths": 30} if key == "slow-breathing" else {},
        duration_s=300,
        now=at,
    )


def test_trellis_offers_at_least_two_short_defaults_for_every_gesture(db: None) -> None:
    defaults = list(ReplyTemplate.objects.filter(organization__isnull=True, active=True))
    for gesture in Gesture.values:
        assert len([t for t in defaults if t.gesture == gesture]) >= 2, gesture
    for t in defaults:
        assert len(t.body) <= 240, t.key
        assert set(placeholders.PLACEHOLDER.findall(t.body)) <= set(placeholders.KNOWN), t.key


def test_seeding_the_defaults_again_changes_nothing(db: None) -> None:
    import importlib

    from django.apps import apps

    seeding = importlib.import_module("trellis.messaging.migrations.0003_default_reply_templates")
    before = list(ReplyTemplate.objects.order_by("key").values_list("key", "body", "updated_at"))
    seeding.seed(apps, None)
    after = list(ReplyTemplate.objects.order_by("key").values_list("key", "body", "updated_at"))
    assert after == before


def test_a_clinic_template_replaces_the_default_of_the_same_key(cast: personas.Cast) -> None:
    riverside = Organization.objects.get(
        pk=cast["therapist_maria"].memberships.first().organization_id
    )
    ReplyTemplate.objects.create(
        organization=riverside,
        key="affirm-progress",
        gesture=Gesture.AFFIRMING,
        title="Riverside: progress",
        body="Lovely work, {first_name}.",
    )
    offered = {t.key: t for t in queries.templates_for(riverside)}
    assert offered["affirm-progress"].title == "Riverside: progress"
    assert len([t for t in queries.templates_for(riverside) if t.key == "affirm-progress"]) == 1
    hillside = Organization.objects.get(
        pk=cast["therapist_otto"].memberships.first().organization_id
    )
    assert queries.template(hillside, "affirm-progress").organization_id is None


def test_placeholders_are_filled_from_the_patients_record(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    _complete(alex_enrollment, "what-stress-does", start + timedelta(days=1))
    _complete(alex_enrollment, "slow-breathing", start + timedelta(days=2))
    now = start + timedelta(days=5)
    text = placeholders.fill(
        "Hi {first_name}, well done on {last_exercise} ({exercises_this_week} this week) in "
        "{chapter_title}. It has been {days_since_last_activity} days. {supporter_name}",
        alex_enrollment,
        supporter=cast["therapist_maria"],
        now=now,
    )
    first = cast["patient_alex"].display_name.split(" ")[0]
    assert text == (
        f"Hi {first}, well done on Slow breathing (1 this week) in Noticing stress. "
        f"It has been 3 days. {cast['therapist_maria'].display_name}"
    )


def test_unknown_placeholders_and_stray_braces_never_break_a_template(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    text = placeholders.fill(
        "Hi {first_name} {favourite_colour}, try {last_exercise}! {0} { } {",
        alex_enrollment,
        supporter=None,
        now=start,
    )
    assert "favourite_colour" not in text
    assert "your exercises" in text
    assert text.endswith("{ } {")


def test_default_templates_come_back_when_the_database_lost_them(db: None) -> None:
    ReplyTemplate.objects.all().delete()
    assert services.ensure_default_templates() == 10
    assert services.ensure_default_templates() == 0
    gestures = {t.gesture for t in queries.templates_for(None)}
    assert gestures == {
        "task_reinforcement",
        "task_prompting",
        "self_efficacy",
        "empathy",
        "affirming",
    }
    assert ReplyTemplate.objects.filter(organization__isnull=True).count() == 10


def test_the_thread_page_offers_the_defaults_again_after_the_database_lost_them(
    cast: personas.Cast, alex_enrollment: Enrollment, client_for: Any
) -> None:
    ReplyTemplate.objects.all().delete()
    url = reverse("messaging:thread", kwargs={"enrollment_id": alex_enrollment.pk})
    response = client_for("therapist_maria").get(url)
    assert response.status_code == 200
    assert [group["label"] for group in response.context["gestures"]] == [
        label for _value, label in Gesture.choices
    ]
