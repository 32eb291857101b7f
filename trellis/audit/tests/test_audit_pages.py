import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.audit.queries import PAGE_SIZE
from trellis.audit.services import record
from trellis.core import timeutil


@pytest.fixture
def trail(cast):
    riverside, hillside = cast.clinics["riverside"], cast.clinics["hillside"]
    maria, alex = cast["therapist_maria"], cast["patient_alex"]
    return {
        "maria_read": record(
            action="patient.view", actor=maria, patient=alex, organization=riverside
        ),
        "sam_login": record(
            action="auth.login", actor=cast["therapist_sam"], organization=riverside
        ),
        "hillside": record(
            action="patient.view",
            actor=cast["therapist_otto"],
            patient=cast["patient_farah"],
            organization=hillside,
        ),
    }


def _texts(response) -> str:
    return response.content.decode()


def test_admin_sees_own_clinic_events_only(client_for, trail):
    response = client_for("admin_avery").get(reverse("audit:events"))
    assert response.status_code == 200
    page = _texts(response)
    assert "maria.therapist@riverside.example" in page
    assert "sam.therapist@riverside.example" in page
    assert "otto.therapist@hillside.example" not in page


def test_supervisor_may_read_the_trail(client_for, trail):
    assert client_for("supervisor_ruth").get(reverse("audit:events")).status_code == 200


@pytest.mark.parametrize(
    "persona", ["therapist_maria", "coach_jordan", "researcher_lee", "patient_alex"]
)
def test_people_without_audit_rights_are_refused(client_for, trail, persona):
    client = client_for(persona)
    assert client.get(reverse("audit:events")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403


def test_anonymous_visitor_is_sent_to_sign_in(db):
    response = Client().get(reverse("audit:events"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_filter_by_user_email_patient_and_action(client_for, cast, trail):
    client = client_for("admin_avery")
    by_email = _texts(
        client.get(reverse("audit:events"), {"user": "MARIA.therapist@riverside.example"})
    )
    assert "maria.therapist@riverside.example" in by_email
    assert "sam.therapist@riverside.example" not in by_email

    by_id = _texts(client.get(reverse("audit:events"), {"user": str(cast["therapist_sam"].pk)}))
    assert "sam.therapist@riverside.example" in by_id
    assert "maria.therapist@riverside.example" not in by_id

    by_patient = _texts(
        client.get(reverse("audit:events"), {"patient": str(cast["patient_alex"].pk)})
    )
    assert "<td>patient.view</td>" in by_patient and "<td>auth.login</td>" not in by_patient

    by_family = _texts(client.get(reverse("audit:events"), {"action": "auth"}))
    assert "<td>auth.login</td>" in by_family and "<td>patient.view</td>" not in by_family


def test_date_range_is_whole_days_in_the_clinic_time_zone(client_for, cast):
    riverside = cast.clinics["riverside"]  # America/New_York
    # 23:30 on 10 March in New York is already 11 March in UTC.
    late_evening = datetime(2026, 3, 11, 3, 30, tzinfo=timeutil.UTC)
    record(action="test.late_evening", organization=riverside, at=late_evening)
    record(action="test.next_day", organization=riverside, at=late_evening + timedelta(hours=6))
    client = client_for("admin_avery")
    page = _texts(
        client.get(reverse("audit:events"), {"since": "2026-03-10", "until": "2026-03-10"})
    )
    assert "test.late_evening" in page
    assert "test.next_day" not in page
    page = _texts(
        client.get(reverse("audit:events"), {"since": "2026-03-11", "until": "2026-03-11"})
    )
    assert "test.late_evening" not in page
    assert "test.next_day" in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "10/03/2026"}, "since"),
        ({"until": "2026-02-31"}, "until"),
        ({"patient": "not-a-uuid"}, "patient"),
        ({"since": "2026-03-12", "until": "2026-03-10"}, "until"),
        ({"before": "abc"}, "before"),
        ({"before": "²"}, "before"),  # a digit to isdigit(), not to int()
        ({"until": "9999-12-31"}, "until"),  # the day after it cannot be computed
        ({"since": "0001-01-01"}, "since"),
    ],
)
def test_bad_filter_values_get_a_clear_message_and_400(client_for, trail, params, field):
    client = client_for("admin_avery")
    before = AuditEvent.objects.count()
    response = client.get(reverse("audit:events"), params)
    assert response.status_code == 400
    page = _texts(response)
    assert "could not be used" in page
    if field != "before":
        assert f'id="e-{field}"' in page
    assert client.get(reverse("audit:export"), params).status_code == 400
    assert AuditEvent.objects.count() == before  # nothing audited for a refused request


def test_viewing_the_trail_is_audited(client_for, cast, trail):
    client_for("admin_avery").get(reverse("audit:events"), {"action": "auth"})
    viewed = AuditEvent.objects.filter(action="audit.view").latest("id")
    assert viewed.actor_id == cast["admin_avery"].pk
    assert viewed.organization_id == cast.clinics["riverside"].pk
    assert viewed.details["action"] == "auth"


def test_pages_hold_fifty_events_and_link_to_older_ones(client_for, cast):
    riverside = cast.clinics["riverside"]
    for i in range(PAGE_SIZE + 5):
        record(action=f"test.bulk{i:03d}", organization=riverside)
    client = client_for("admin_avery")
    first = client.get(reverse("audit:events"), {"action": "test"})
    rows = _texts(first).count("<tr>") - 1  # minus the header row
    assert rows == PAGE_SIZE
    assert "test.bulk054" in _texts(first) and "test.bulk004" not in _texts(first)
    older = first.context["next_url"]
    assert older
    second = client.get(older)
    assert second.status_code == 200
    assert "test.bulk004" in _texts(second) and "test.bulk000" in _texts(second)
    assert "test.bulk054" not in _texts(second)
    assert not second.context["next_url"]
    assert second.context["first_url"]


def test_list_page_query_count_does_not_grow_with_events(
    client_for, cast, django_assert_max_num_queries
):
    riverside = cast.clinics["riverside"]
    for i in range(PAGE_SIZE):
        record(action=f"test.bulk{i}", organization=riverside)
    client = client_for("admin_avery")
    client.get(reverse("audit:events"))  # warm the session
    with django_assert_max_num_queries(15):
        client.get(reverse("audit:events"))


def _csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_streams_the_filtered_events_as_csv_and_is_audited(client_for, cast, trail):
    client = client_for("supervisor_ruth")
    response = client.get(
        reverse("audit:export"), {"patient": str(cast["patient_alex"].pk), "action": "patient"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert [r["action"] for r in rows] == ["patient.view"]
    assert rows[0]["patient_id"] == str(cast["patient_alex"].pk)
    assert rows[0]["hash"] == trail["maria_read"].hash
    exported = AuditEvent.objects.filter(action="audit.export").latest("id")
    assert exported.actor_id == cast["supervisor_ruth"].pk
    assert exported.details["patient"] == str(cast["patient_alex"].pk)


def test_export_neutralises_spreadsheet_formulas(client_for, cast):
    record(
        action="auth.login_failed",
        organization=cast.clinics["riverside"],
        user_agent='=HYPERLINK("http://evil.example")',
    )
    rows = _csv_rows(client_for("admin_avery").get(reverse("audit:export"), {"action": "auth"}))
    assert rows[0]["user_agent"].startswith("'=")


def test_export_never_includes_another_clinics_events(client_for, cast, trail):
    rows = _csv_rows(client_for("admin_avery").get(reverse("audit:export")))
    assert rows
    assert {r["organization_id"] for r in rows} == {str(cast.clinics["riverside"].pk)}


# The JSON API ------------------------------------------------------------------------


def test_api_lists_the_clinic_events_for_an_admin(client_for, cast, trail):
    response = client_for("admin_avery").get("/api/v1/audit/events", {"action": "patient"})
    assert response.status_code == 200
    body = json.loads(response.content)
    assert [e["action"] for e in body["items"]] == ["patient.view"]
    assert body["items"][0]["actor"] == "maria.therapist@riverside.example"
    assert body["next_before"] is None
    assert AuditEvent.objects.filter(action="audit.view", details__via="api").exists()


def test_api_refuses_people_without_audit_rights(client_for, trail):
    response = client_for("therapist_maria").get("/api/v1/audit/events")
    assert response.status_code == 403
    assert json.loads(response.content)["detail"]


def test_api_refuses_integration_tokens(cast, trail):
    from trellis.accounts.models import ApiToken, TokenScope
    from trellis.accounts.tokens import digest

    ApiToken.objects.create(
        organization=cast.clinics["riverside"],
        name="EHR",
        prefix="trl_test",
        token_hash=digest("trl_test_secret_value"),
        scope=TokenScope.READ_WRITE,
    )
    response = Client().get(
        "/api/v1/audit/events", HTTP_AUTHORIZATION="Bearer trl_test_secret_value"
    )
    assert response.status_code == 403


def test_api_bad_filters_get_the_error_shape(client_for, trail):
    client = client_for("admin_avery")
    response = client.get("/api/v1/audit/events", {"since": "yesterday"})
    assert response.status_code == 422
    body = json.loads(response.content)
    assert body["errors"][0]["field"] == "since"
    response = client.get("/api/v1/audit/events", {"since": "2026-03-12", "until": "2026-03-01"})
    assert response.status_code == 400
    assert "end date" in json.loads(response.content)["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"until": "9999-12-31"}, "until"), ({"before": str(2**64)}, "before")],
)
def test_api_out_of_range_filters_answer_422_not_500(client_for, trail, params, field):
    response = client_for("admin_avery").get("/api/v1/audit/events", params)
    assert response.status_code == 422
    assert json.loads(response.content)["errors"][0]["field"] == field


def test_api_other_clinic_id_looks_like_nothing(client_for, cast, trail):
    response = client_for("admin_avery").get(
        "/api/v1/audit/events", {"clinic": str(cast.clinics["hillside"].pk)}
    )
    assert response.status_code == 404
