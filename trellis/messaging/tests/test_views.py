"""The message pages: the patient's conversation and the care team's thread with templates."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import reverse

from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.messaging import services
from trellis.messaging.models import Message


def thread_url(enrollment: Enrollment) -> str:
    return reverse("messaging:thread", kwargs={"enrollment_id": enrollment.pk})


def test_a_patient_writes_and_sees_the_reply_promise(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    page = alex.get(reverse("messaging:mine"))
    assert page.status_code == 200
    assert "Your care team usually replies within 2 working days." in page.content.decode()
    sent = alex.post(
        reverse("messaging:mine"), {"client_id": str(uuid.uuid4()), "body": "A hard week."}
    )
    assert sent.status_code == 302
    assert Message.objects.get().body == "A hard week."


def test_an_empty_message_from_the_page_is_a_400_with_the_field_message(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    page = client_for("patient_alex").post(
        reverse("messaging:mine"), {"client_id": str(uuid.uuid4()), "body": "  "}
    )
    assert page.status_code == 400
    body = page.content.decode()
    assert "Please write a message before sending." in body
    assert 'aria-describedby="body-error"' in body and 'id="body-error"' in body
    assert not Message.objects.exists()


def test_choosing_a_template_fills_the_reply_box_and_sending_marks_it(
    cast: personas.Cast, client_for: Any, alex_enrollment: Enrollment
) -> None:
    maria = client_for("therapist_maria")
    page = maria.get(thread_url(alex_enrollment), {"template": "affirm-progress"})
    assert page.status_code == 200
    first = cast["patient_alex"].display_name.split(" ")[0]
    assert f"Hi {first}, I can see the effort you are putting in." in page.content.decode()
    sent = maria.post(
        thread_url(alex_enrollment),
        {
            "client_id": str(uuid.uuid4()),
            "body": f"Hi {first}, I can see the effort. Keep going!",
            "template_key": "affirm-progress",
            "support_minutes": "4",
        },
    )
    assert sent.status_code == 302
    message = Message.objects.get()
    assert (message.template_key, message.support_minutes, message.from_patient) == (
        "affirm-progress",
        4,
        False,
    )


def test_an_unknown_template_key_just_shows_an_empty_reply_box(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    page = client_for("therapist_maria").get(
        thread_url(alex_enrollment), {"template": "no-such-template{x}"}
    )
    assert page.status_code == 200


def test_opening_the_thread_marks_the_patients_messages_read_and_the_patient_sees_read(
    cast: personas.Cast, client_for: Any, alex_enrollment: Enrollment
) -> None:
    services.send_message(
        alex_enrollment,
        sender=cast["patient_alex"],
        body="Is it normal to feel worse first?",
        client_id=uuid.uuid4(),
        now=timeutil.now(),
    )
    alex = client_for("patient_alex")
    assert "Sent" in alex.get(reverse("messaging:mine")).content.decode()
    assert "Messages (" not in alex.get(reverse("messaging:mine")).content.decode()
    client_for("therapist_maria").get(thread_url(alex_enrollment))
    assert Message.objects.get().read_at is not None
    assert 'class="read-receipt">Read<' in alex.get(reverse("messaging:mine")).content.decode()


def test_the_patient_sees_new_replies_counted_in_the_navigation(
    cast: personas.Cast, client_for: Any, alex_enrollment: Enrollment
) -> None:
    services.send_message(
        alex_enrollment,
        sender=cast["therapist_maria"],
        body="How did the breathing go?",
        client_id=uuid.uuid4(),
        now=timeutil.now(),
    )
    alex = client_for("patient_alex")
    today = alex.get("/", follow=True).content.decode()
    assert "Messages (1 new)" in today


def test_a_colleague_on_the_team_may_read_but_not_reply(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    jordan = client_for("coach_jordan")
    assert jordan.get(thread_url(alex_enrollment)).status_code == 200
    refused = jordan.post(
        thread_url(alex_enrollment), {"client_id": str(uuid.uuid4()), "body": "Hi"}
    )
    assert refused.status_code == 403
    assert not Message.objects.exists()


def test_an_empty_staff_thread_says_so_in_a_plain_sentence_with_no_stray_separator(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    page = client_for("therapist_maria").get(thread_url(alex_enrollment))
    assert page.status_code == 200
    body = page.content.decode()
    assert '<p class="thread-empty">No messages yet.</p>' in body
    assert "message-thread" not in body
    conversation = body[body.index('id="thread-heading"') : body.index("No messages yet.")]
    assert "·" not in conversation
