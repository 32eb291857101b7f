"""A clinic's reports through the pages, the CSV download and the API, on a small clinic
built through the real services: the figures against hand counts, who may see what, the
researcher's de-identified view, and bad input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest

from trellis.alerts.tests.helpers import T0, enroll_patient
from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.engagement.events import emit
from trellis.insights import queries
from trellis.insights.tests.test_rules import score
from trellis.messaging.services import send_message
from trellis.onboarding.services import mark_done

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
NOW = T0 + 30 * DAY
BASE = "/clinic/insights/reports/riverside/"
API = "/api/v1/insights/reports/riverside/"


@pytest.fixture
def clinic(cast: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Enrollment]:
    """Four patients of Riverside, 30 days after they started on 2 March 2026:

    - Alex (therapist-assisted, Maria): active on days 1, 2 and 20; PHQ-9 15 -> 5,
      GAD-7 10 -> 3 (recovered, reliably); wrote to Maria on day 1, answered 1 hour later.
    - Blair (coached, Jordan): active on day 2 only, then silent; PHQ-9 8 -> 16,
      GAD-7 5 -> 6 (reliable deterioration); wrote on day 2, answered 3 hours later.
    - Emery (self-guided): did nothing.
    - Casey (self-guided): a mood check-in on day 25.
    """
    monkeypatch.setattr(timeutil, "now", lambda: NOW)
    alex = enroll_patient(
        cast, "patient_alex", SupportLevel.THERAPIST_ASSISTED, ("therapist_maria",)
    )
    blair = enroll_patient(cast, "patient_blair", SupportLevel.COACHED, ("coach_jordan",))
    emery = enroll_patient(cast, "patient_emery", SupportLevel.SELF_GUIDED)
    casey = enroll_patient(cast, "patient_casey", SupportLevel.SELF_GUIDED)
    for enrollment in (alex, blair, emery, casey):
        mark_done(enrollment, actor=None, now=T0)
    score(alex, "PHQ-9", 15, 0)
    score(alex, "GAD-7", 10, 0)
    score(blair, "PHQ-9", 8, 0)
    score(blair, "GAD-7", 5, 0)
    emit(alex, "login", at=T0 + DAY)
    emit(alex, "step_completed", at=T0 + 2 * DAY, duration_s=600)
    emit(alex, "mood_checkin", at=T0 + 20 * DAY)
    emit(blair, "login", at=T0 + 2 * DAY)
    emit(casey, "mood_checkin", at=T0 + 25 * DAY)
    score(alex, "PHQ-9", 5, 2)
    score(alex, "GAD-7", 3, 2)
    score(blair, "PHQ-9", 16, 2)
    score(blair, "GAD-7", 6, 2)
    for enrollment, supporter, wait in (
        (alex, "therapist_maria", timedelta(hours=1)),
        (blair, "coach_jordan", timedelta(hours=3)),
    ):
        asked = T0 + DAY * (1 if enrollment == alex else 2)
        send_message(
            enrollment,
            sender=enrollment.patient,
            body="Hello",
            client_id=uuid.uuid4(),
            now=asked,
        )
        send_message(
            enrollment,
            sender=cast[supporter],
            body="Hello, good to hear from you.",
            client_id=uuid.uuid4(),
            now=asked + wait,
            support_minutes=10,
        )
    return {"alex": alex, "blair": blair, "emery": emery, "casey": casey}


def _csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_admin_and_supervisor_see_every_report(client_for: Any, clinic: Any) -> None:
    for person in ("admin_avery", "supervisor_ruth"):
        client = client_for(person)
        assert client.get(BASE).status_code == 200
        for name in ("engagement", "retention", "outcomes", "workload", "phenotypes"):
            page = client.get(f"{BASE}{name}/")
            assert page.status_code == 200, (person, name)
            assert client.get(f"{BASE}{name}/csv").status_code == 200
            assert client.get(f"{API}{name}").status_code == 200


@pytest.mark.parametrize("person", ["coach_jordan", "therapist_maria", "patient_alex"])
def test_coaches_therapists_and_patients_get_403(client_for: Any, clinic: Any, person: str) -> None:
    client = client_for(person)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}outcomes/").status_code == 403
    assert client.get(f"{BASE}outcomes/csv").status_code == 403
    assert client.get(f"{API}outcomes").status_code == 403


def test_another_clinic_or_an_unknown_one_is_404(client_for: Any, clinic: Any) -> None:
    client = client_for("admin_avery")
    for slug in ("hillside", "no-such-clinic"):
        assert client.get(f"/clinic/insights/reports/{slug}/").status_code == 404
        assert client.get(f"/clinic/insights/reports/{slug}/outcomes/").status_code == 404
        assert client.get(f"/api/v1/insights/reports/{slug}/outcomes").status_code == 404
    # Hillside's admin is refused Riverside's reports in the same way.
    assert client_for("admin_hana").get(BASE).status_code == 404


def test_an_unknown_report_or_a_bad_parameter_is_a_clear_4xx(client_for: Any, clinic: Any) -> None:
    client = client_for("admin_avery")
    page = client.get(f"{BASE}popularity/")
    assert page.status_code == 404
    assert "There is no report called “popularity”" in page.content.decode()
    assert client.get(f"{BASE}popularity/csv").status_code == 404
    answer = client.get(f"{API}popularity")
    assert answer.status_code == 404
    assert "popularity" in answer.json()["detail"]
    bad = client.get(f"{BASE}engagement/", {"since": "March"})
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.content.decode()
    assert client.get(f"{BASE}engagement/", {"since": "0001-01-01"}).status_code == 400
    assert client.get(f"{BASE}engagement/", {"sort": "name"}).status_code == 400
    assert client.get(f"{BASE}engagement/csv", {"since": "2026-13-01"}).status_code == 400
    api_bad = client.get(f"{API}engagement", {"since": "March"})
    assert api_bad.status_code == 422
    assert api_bad.json()["errors"][0]["field"] == "since"


def test_engagement_against_hand_counts(client_for: Any, clinic: Any) -> None:
    rows = client_for("admin_avery").get(f"{API}engagement").json()["rows"]
    everyone = rows[0]
    assert everyone["enrolled"] == 4
    # Getting started was marked done at T0; everyone but Emery did something after it.
    assert everyone["took_up"] == 3
    assert everyone["uptake"] == 0.75
    # Active days: Alex 5 (the answers on days 0 and 14, and days 1, 2 and 20), Blair 3
    # (days 0, 2 and 14), Emery 0, Casey 1 -> median (1 + 3) / 2 = 2.
    assert everyone["median_active_days"] == 2.0
    # Steps: Alex 1, the others 0; minutes: Alex 10.
    assert everyone["median_steps"] == 0.0
    assert everyone["median_minutes"] == 0.0
    # Weeks of use: Alex week 3 (day 20), Blair 3 (day 14), Emery 0, Casey 4 (day 25).
    assert everyone["median_weeks"] == 3.0
    assert everyone["completed_all"] == 0


def test_retention_and_outcomes_against_hand_counts(client_for: Any, clinic: Any) -> None:
    client = client_for("admin_avery")
    retention = client.get(f"{API}retention").json()["rows"]
    # Self-guided: Emery (nothing, silent 30 days: dropped at day 0) and Casey (day 25,
    # 5 days ago: censored) -> S(7) = 1/2 with 1 still followed.
    self_guided = next(r for r in retention if r["group"] == "Self-guided" and r["day"] == 7)
    assert (self_guided["enrolled"], self_guided["dropped"]) == (2, 1)
    assert self_guided["retained"] == 0.5
    assert self_guided["at_risk"] == 1

    outcomes = client.get(f"{API}outcomes").json()["rows"]
    everyone = outcomes[0]
    assert everyone["with_outcome"] == 2
    assert everyone["caseness_first"] == 1  # Alex; Blair started below caseness
    assert (everyone["recovered"], everyone["recovery_rate"]) == (1, 1.0)
    assert (everyone["improved"], everyone["improvement_rate"]) == (1, 0.5)
    assert (everyone["deteriorated"], everyone["deterioration_rate"]) == (1, 0.5)
    by_supporter = {r["group"]: r for r in outcomes if r["grouping"] == "Supporter"}
    assert by_supporter["Maria Lindqvist"]["recovered"] == 1
    assert by_supporter["Jordan Ellis"]["deteriorated"] == 1


def test_workload_counts_messages_replies_and_minutes(client_for: Any, clinic: Any) -> None:
    rows = client_for("supervisor_ruth").get(f"{API}workload", {"since": "2026-03-01"}).json()
    by_name = {r["supporter"]: r for r in rows["rows"]}
    assert by_name["Maria Lindqvist"]["active_patients"] == 1
    assert by_name["Maria Lindqvist"]["messages_sent"] == 1
    assert by_name["Maria Lindqvist"]["median_reply_hours"] == 1.0
    assert by_name["Jordan Ellis"]["p90_reply_hours"] == 3.0
    assert by_name["Jordan Ellis"]["support_minutes"] == 10
    assert by_name["Sam Whitaker"]["messages_sent"] == 0


def test_the_researcher_sees_no_names_and_no_small_counts(client_for: Any, clinic: Any) -> None:
    client = client_for("researcher_lee")
    page = client.get(f"{BASE}outcomes/")
    assert page.status_code == 200
    text = page.content.decode()
    for name in ("Maria Lindqvist", "Jordan Ellis", "Sam Whitaker", "Ruth Okafor"):
        assert name not in text
    assert "Supporter A" in text
    assert "fewer than 5" in text
    answer = client.get(f"{API}outcomes").json()
    assert answer["deidentified"] is True
    everyone = answer["rows"][0]
    assert everyone["with_outcome"] is None
    assert everyone["recovery_rate"] is None
    assert "recovery_rate" in everyone["suppressed"]
    workload = client.get(f"{API}workload").json()["rows"]
    assert {r["supporter"] for r in workload} <= {f"Supporter {c}" for c in "ABCDEFG"}
    assert all(r["role"] == "" for r in workload)
    # The same letter names the same supporter in every report: the clinic's fixed order.
    letters = queries.supporter_names(clinic["alex"].organization, deidentified=True)
    order = [pk for pk, *_rest in queries.supporters(clinic["alex"].organization)]
    assert [letters[pk] for pk in order][:2] == ["Supporter A", "Supporter B"]


@pytest.mark.parametrize("name", ["engagement", "retention", "outcomes", "workload"])
@pytest.mark.parametrize("person", ["admin_avery", "researcher_lee"])
def test_csv_and_json_agree_with_the_page(
    client_for: Any, clinic: Any, name: str, person: str
) -> None:
    client = client_for(person)
    page = client.get(f"{BASE}{name}/").content.decode()
    rows = client.get(f"{API}{name}").json()["rows"]
    table = _csv(client.get(f"{BASE}{name}/csv"))
    assert len(table) == len(rows) > 0
    for from_csv, from_json in zip(table, rows, strict=True):
        for key, value in from_csv.items():
            expected = from_json[key]
            assert value == ("" if expected is None else str(expected)), (key, value, expected)
            if isinstance(expected, float) and key.endswith(("rate", "uptake", "retained")):
                assert f"{expected:.0%}" in page
    suppressed = sum(len(r["suppressed"]) for r in rows)
    assert (suppressed > 0) == (person == "researcher_lee")
    assert ("fewer than 5" in page) == (person == "researcher_lee")


def test_downloads_and_api_reads_are_in_the_audit_trail(client_for: Any, clinic: Any) -> None:
    client = client_for("researcher_lee")
    client.get(f"{BASE}engagement/csv")
    client.get(f"{API}retention")
    events = AuditEvent.objects.filter(action="insights.report_export").order_by("id")
    assert [
        (e.details["report"], e.details["format"], e.details["deidentified"]) for e in events
    ] == [("engagement", "csv", True), ("retention", "json", True)]


def test_the_pages_draw_their_charts_with_a_table(client_for: Any, clinic: Any) -> None:
    client = client_for("admin_avery")
    for name in ("engagement", "retention", "outcomes", "workload"):
        text = client.get(f"{BASE}{name}/").content.decode()
        assert "<svg" in text and "<table" in text, name
    phenotypes = client.get(f"{BASE}phenotypes/").content.decode()
    assert "too few enrollments" in phenotypes
