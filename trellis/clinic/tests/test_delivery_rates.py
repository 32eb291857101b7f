"""The clinic's delivery and failure rates: per channel and per template over the last 7 and
30 days, counted in one query however many deliveries; for the clinic's admins only; a
period the page does not show is a 400 that says which it shows."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from trellis.core import timeutil
from trellis.nudges.models import Delivery
from trellis.nudges.reports import delivery_rates

pytestmark = pytest.mark.django_db

URL = reverse("clinic:delivery_rates")


def _deliveries(cast: Any, *, age: timedelta, clinic: str = "riverside", **fields: Any) -> None:
    """One delivery queued `age` ago; `count` of them."""
    count = fields.pop("count", 1)
    org = cast.clinics[clinic]
    at = timeutil.now() - age
    for _ in range(count):
        n = Delivery.objects.count()
        row = Delivery.objects.create(
            key=f"rates:{n}",
            organization=org,
            recipient=cast["patient_alex" if clinic == "riverside" else "patient_farah"],
            channel=fields.get("channel", "email"),
            template=fields.get("template", "exercise_today"),
            status=fields.get("status", "sent"),
            reason=fields.get("reason", ""),
            not_before=at,
            opened_at=at if fields.get("opened") else None,
        )
        Delivery.objects.filter(pk=row.pk).update(created_at=at)


def _seed(cast: Any) -> None:
    recent, older, too_old = timedelta(days=2), timedelta(days=20), timedelta(days=40)
    _deliveries(cast, age=recent, count=3, opened=True)  # e-mail sent, opened
    _deliveries(cast, age=recent, count=1)  # e-mail sent, not opened
    _deliveries(cast, age=older, count=4)  # e-mail sent, in 30 days only
    _deliveries(cast, age=recent, channel="sms", status="delivered", count=2)
    _deliveries(cast, age=recent, channel="sms", status="failed", reason="permanent_failure")
    _deliveries(cast, age=recent, channel="sms", status="suppressed", reason="quiet_hours")
    _deliveries(cast, age=older, channel="sms", status="suppressed", reason="daily_cap", count=2)
    _deliveries(cast, age=recent, channel="in_app", status="queued", template="weekly_summary")
    _deliveries(cast, age=too_old, count=50)  # outside both windows
    _deliveries(cast, age=recent, clinic="hillside", count=7)  # another clinic


def test_counts_per_channel_in_each_window(cast: Any) -> None:
    _seed(cast)
    rates = delivery_rates(cast.clinics["riverside"], now=timeutil.now())
    by_channel = {line.key: line.windows for line in rates.channels}
    email, sms = by_channel["email"], by_channel["sms"]
    assert (email[7].sent, email[7].opened, email[30].sent, email[30].opened) == (4, 3, 8, 3)
    assert (sms[7].sent, sms[7].delivered, sms[7].failed, sms[7].suppressed) == (2, 2, 1, 1)
    assert sms[30].suppressed == 3
    assert sms[30].top_reasons == [
        ("already reached today's limit", 2),
        ("in the patient's quiet hours", 1),
    ]
    assert sms[7].failure_rate == pytest.approx(1 / 3)
    assert by_channel["in_app"][7].queued == 1
    assert rates.totals[30].total == 8 + 2 + 1 + 3 + 1
    assert [line.key for line in rates.channels] == ["email", "sms", "in_app"]


def test_counts_per_template_busiest_first(cast: Any) -> None:
    _seed(cast)
    rates = delivery_rates(cast.clinics["riverside"], now=timeutil.now())
    assert [line.words for line in rates.templates] == [
        "Reminder of today's exercise",
        "Your week (summary)",
    ]


def test_one_query_for_any_number_of_deliveries(cast: Any, django_assert_num_queries: Any) -> None:
    org = cast.clinics["riverside"]
    with django_assert_num_queries(1):
        delivery_rates(org, now=timeutil.now())
    _seed(cast)
    with django_assert_num_queries(1):
        delivery_rates(org, now=timeutil.now())


def _section(page: str, heading: str) -> str:
    found = re.search(rf'aria-labelledby="{heading}".*?</section>', page, re.S)
    assert found, heading
    return found.group(0)


def test_the_admin_reads_the_rates_page_for_7_and_30_days(cast: Any, client_for: Any) -> None:
    _seed(cast)
    client = client_for("admin_avery")
    page = client.get(URL).content.decode()
    channels = _section(page, "rates-channel-heading")
    assert "By channel, last 7 days" in channels
    assert "Text message" in channels and "E-mail" in channels
    assert "33% failure rate" in channels
    assert "the address does not work: 1" in channels
    glance = _section(page, "rates-summary-heading")
    assert "Last 7 days" in glance and "Last 30 days" in glance
    reasons = _section(page, "rates-reason-heading")
    assert "in the patient&#x27;s quiet hours" in reasons
    assert "already reached today&#x27;s limit" not in reasons  # 20 days ago: 30 only
    month = client.get(URL, {"days": "30"}).content.decode()
    assert "already reached today&#x27;s limit" in _section(month, "rates-reason-heading")
    assert "By reminder, last 30 days" in month


def test_the_page_names_no_patient(cast: Any, client_for: Any) -> None:
    _seed(cast)
    page = client_for("admin_avery").get(URL, {"days": "30"}).content.decode()
    assert cast["patient_alex"].full_name not in page
    assert cast["patient_alex"].email not in page


def test_a_clinic_with_no_deliveries_says_so(cast: Any, client_for: Any) -> None:
    page = client_for("admin_avery").get(URL).content.decode()
    assert "Nothing was queued in this period." in page
    assert "Every reminder of this period was sent, or is still queued." in page


def test_an_unknown_period_is_a_400_naming_the_periods(cast: Any, client_for: Any) -> None:
    for bad in ("365", "seven", "-7", "7.0", "x" * 5000):
        response = client_for("admin_avery").get(URL, {"days": bad})
        assert response.status_code == 400
        assert "Choose the last 7 or the last 30 days." in response.content.decode()


def test_only_admins_see_it_and_the_settings_page_links_to_it(cast: Any, client_for: Any) -> None:
    for persona in ("therapist_maria", "supervisor_ruth", "coach_jordan", "patient_alex"):
        assert client_for(persona).get(URL).status_code == 403
    settings_page = client_for("admin_avery").get(reverse("clinic:settings")).content.decode()
    assert f'href="{URL}"' in settings_page


def test_windows_are_counted_back_from_now(cast: Any) -> None:
    _deliveries(cast, age=timedelta(days=6, hours=23))
    _deliveries(cast, age=timedelta(days=7, hours=1))
    later: datetime = timeutil.now()
    rates = delivery_rates(cast.clinics["riverside"], now=later)
    assert (rates.totals[7].sent, rates.totals[30].sent) == (1, 2)
