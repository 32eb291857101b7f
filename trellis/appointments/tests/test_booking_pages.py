"""Booking on a phone: "Sessions" lists the days with free times, a day's page lists its
times, the confirm page holds the one form that books; a time taken meanwhile is 409 with
the nearest free times offered instead."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from trellis.appointments.models import Appointment
from trellis.appointments.queries import OpenTime
from trellis.appointments.tests.helpers import (
    alex_booked_session,
    maria_every_day,
    open_times_ahead,
)
from trellis.appointments.views import nearest_times
from trellis.core import timeutil

UTC = timeutil.UTC


def _links(html: str, css_class: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'<a class="{css_class}" href="([^"]+)"', html)]


def _day_links(html: str) -> list[str]:
    strip = html[html.index('<ul class="day-strip">') :]
    strip = strip[: strip.index("</ul>")]
    return [unescape(h) for h in re.findall(r'<a href="([^"]+)"', strip)]


def _book_form(html: str) -> dict[str, str]:
    form = html[html.index('action="/sessions/book/"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    checked = re.search(r'name="mode" id="[^"]+" value="(\w+)" checked', form)
    if checked:
        fields["mode"] = checked.group(1)
    return {k: unescape(v) for k, v in fields.items() if k != "csrfmiddlewaretoken"}


def test_sessions_lists_days_with_free_times_instead_of_a_form_per_time(
    cast: Any, client_for: Any
) -> None:
    maria_every_day(cast)
    page = client_for("patient_alex").get(reverse("sessions:mine")).content.decode()
    days = _day_links(page)
    assert len(days) >= 20
    assert all(link.startswith(reverse("sessions:day") + "?day=") for link in days)
    assert "times</span>" in page
    # Only the sign-out form: no booking form until a time is chosen.
    assert page.count("<form") == 1


def test_a_days_page_lists_only_that_days_times_as_links_to_confirm(
    cast: Any, client_for: Any
) -> None:
    times = open_times_ahead(cast)
    client = client_for("patient_alex")
    second_day = times[len(times) // 2].starts_at.date()
    response = client.get(reverse("sessions:day"), {"day": second_day.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    links = _links(html, "time-link")
    wanted = [t for t in times if t.starts_at.date() == second_day]
    assert len(links) == len(wanted) > 0
    for link, time in zip(links, wanted, strict=True):
        url = urlsplit(link)
        assert url.path == reverse("sessions:confirm")
        query = parse_qs(url.query)
        assert query["starts_at"] == [time.starts_at.isoformat()]
        assert query["supporter"] == [str(time.supporter.pk)]
    assert 'aria-current="date"' in html
    assert "<form" not in html.replace('class="logout-form"', "").split("</header>", 1)[1]


def test_without_a_day_the_first_free_day_is_shown(cast: Any, client_for: Any) -> None:
    first = open_times_ahead(cast)[0]
    html = client_for("patient_alex").get(reverse("sessions:day")).content.decode()
    assert f"Free times on {first.starts_at:%A} {first.starts_at.day}" in html
    first_link = parse_qs(urlsplit(_links(html, "time-link")[0]).query)
    assert first_link["starts_at"] == [first.starts_at.isoformat()]


def test_a_malformed_day_or_time_is_400_with_the_days_to_pick_from(
    cast: Any, client_for: Any
) -> None:
    maria_every_day(cast)
    client = client_for("patient_alex")
    bad_day = client.get(reverse("sessions:day"), {"day": "next tuesday"})
    assert bad_day.status_code == 400
    assert "Please pick a day from the list." in bad_day.content.decode()
    assert _day_links(bad_day.content.decode())
    far = client.get(reverse("sessions:day"), {"day": "99999-01-01"})
    assert far.status_code == 400
    bad_time = client.get(reverse("sessions:confirm"), {"supporter": "x", "starts_at": "soon"})
    assert bad_time.status_code == 400
    assert "Please pick a time from the list." in bad_time.content.decode()
    # A bare confirm address (no time chosen yet) goes back to the days.
    assert client.get(reverse("sessions:confirm"))["Location"] == reverse("sessions:mine")


def test_a_patient_books_by_day_then_time_then_confirm(cast: Any, client_for: Any) -> None:
    maria_every_day(cast)
    client = client_for("patient_alex")
    day_link = _day_links(client.get(reverse("sessions:mine")).content.decode())[1]
    time_link = _links(client.get(day_link).content.decode(), "time-link")[2]
    confirm = client.get(time_link)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Confirm your session" in html and "How would you like to meet?" in html
    assert html.count('name="mode"') == 2  # video and phone, as radios
    form = _book_form(html)
    assert set(form) == {"supporter", "starts_at", "client_id", "mode"}
    booked = client.post(reverse("sessions:book"), {**form, "mode": "phone"})
    assert booked.status_code == 302
    appointment = Appointment.objects.get()
    chosen = parse_qs(urlsplit(time_link).query)["starts_at"][0]
    assert appointment.starts_at.isoformat() == chosen
    assert appointment.mode == "phone"


def test_a_time_taken_meanwhile_is_409_and_offers_the_nearest_free_times(
    cast: Any, client_for: Any
) -> None:
    maria_every_day(cast)
    client = client_for("patient_alex")
    day_link = _day_links(client.get(reverse("sessions:mine")).content.decode())[2]
    time_link = _links(client.get(day_link).content.decode(), "time-link")[3]
    form = _book_form(client.get(time_link).content.decode())
    # The time goes while the confirm page is open (here: to the same patient's other tab).
    assert client.post(reverse("sessions:book"), form).status_code == 302
    taken = client.post(reverse("sessions:book"), {**form, "client_id": str(uuid.uuid4())})
    assert taken.status_code == 409
    html = taken.content.decode()
    assert "Sorry, this time has just been booked. Please pick another." in html
    offered = [parse_qs(urlsplit(link).query)["starts_at"][0] for link in _links(html, "time-link")]
    assert len(offered) == 4
    assert form["starts_at"] not in offered
    wanted = Appointment.objects.get().starts_at
    gaps = sorted(abs(datetime.fromisoformat(o) - wanted) for o in offered)
    # Sessions are hourly: the nearest four are one and two hours either side.
    assert [g.total_seconds() / 3600 for g in gaps] == [1, 1, 2, 2]
    assert Appointment.objects.count() == 1
    # Opening the confirm page of the taken time says so too, with the same offer.
    again = client.get(time_link)
    assert again.status_code == 409
    assert "no longer free" in again.content.decode()
    assert len(_links(again.content.decode(), "time-link")) == 4


def test_nearest_times_are_the_closest_either_side_earliest_first(cast: Any) -> None:
    maria = cast["therapist_maria"]
    base = datetime(2026, 6, 3, 13, 0, tzinfo=UTC)
    times = [
        OpenTime(maria, base + timedelta(hours=h), base, ["video"]) for h in (30, 4, -5, 3, -1, -2)
    ]
    picked = nearest_times(times, base, count=3)
    assert [t.starts_at for t in picked] == [base + timedelta(hours=h) for h in (-2, -1, 3)]


def test_moving_a_session_picks_a_day_then_one_of_its_times(cast: Any, client_for: Any) -> None:
    appointment = alex_booked_session(cast)
    client = client_for("patient_alex")
    url = reverse("sessions:reschedule", kwargs={"appointment_id": appointment.pk})
    html = client.get(url).content.decode()
    days = _day_links(html)
    assert days and all(link.startswith(url + "?day=") for link in days)
    later = client.get(days[-1]).content.decode()
    moves = re.findall(r'name="starts_at" value="([^"]+)"', later)
    assert moves and len(moves) <= 12  # one day's times, not every open time
    assert len({datetime.fromisoformat(unescape(m)).date() for m in moves}) == 1
    assert client.get(url, {"day": "someday"}).status_code == 400
