"""The menu links to the person's notifications with the unread count (for a patient under
"More" on a phone's tab bar); the count falls when they read them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import dispatch
from trellis.nudges.models import Notification
from trellis.nudges.tests.pipeline_helpers import queue_one

pytestmark = pytest.mark.django_db

# 15:00 UTC on 1 July 2026 is 11:00 in New York (the clinic's zone): inside allowed hours.
AT = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)


def _notify(cast: Any, enrollment: Any, key: str, template: str = "exercise_today") -> None:
    # Not counted against the daily cap: two in one day.
    row = queue_one(cast, enrollment, key=key, not_before=AT, channel="in_app", template=template)
    dispatch.deliver(row.pk, now=AT)


def _more_menu(page: str) -> str:
    found = re.search(r'<ul class="more-menu">.*?</ul>', page, re.S)
    assert found, "the patient's tab bar has no More menu"
    return found.group(0)


def test_the_patient_sees_notifications_with_the_unread_count(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast, now=AT)
    _notify(cast, enrollment, "nav:1")
    _notify(cast, enrollment, "nav:2", template="questionnaire_due")
    assert Notification.objects.filter(user=cast["patient_alex"], read_at=None).count() == 2
    client = client_for("patient_alex")
    page = client.get(reverse("journey:journal")).content.decode()
    url = reverse("nudges:notifications")
    assert f'<a href="{url}">Notifications (2 new)</a>' in page  # desk menu
    assert f'href="{url}"' in _more_menu(page)  # the phone's "More"
    more_tab = page.split('<details class="tab-more">')[1].split("</summary>")[0]
    assert ">2<" in more_tab  # the count shows on the "More" tab itself
    client.post(reverse("nudges:mark_all_read"))
    page = client.get(reverse("journey:journal")).content.decode()
    assert f'<a href="{url}">Notifications</a>' in page
    assert "new)</a>" not in page.split('class="top-nav"')[1].split("</nav>")[0]
    assert "tab-count" not in page.split('<details class="tab-more">')[1].split("</summary>")[0]


def test_the_link_opens_the_notifications_page_marked_current(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast, now=AT)
    _notify(cast, enrollment, "nav:open")
    response = client_for("patient_alex").get(reverse("nudges:notifications"))
    assert response.status_code == 200
    page = response.content.decode()
    url = reverse("nudges:notifications")
    assert f'<a href="{url}" aria-current="page">Notifications (1 new)</a>' in page


def test_a_supporter_sees_the_link_too(cast: Any, client_for: Any) -> None:
    page = client_for("therapist_maria").get(reverse("caseload:list")).content.decode()
    top_nav = page.split('class="top-nav"')[1].split("</nav>")[0]
    assert f'<a href="{reverse("nudges:notifications")}">Notifications</a>' in top_nav
