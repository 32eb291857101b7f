"""The patient's own record through real HTTP: My record, the downloads and their content,
requests for corrections and a clinician's decision, the accounting of disclosures, who may
reach what, and the audit rows."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from trellis.accounts import services as accounts
from trellis.accounts.models import Role
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.core.testing import sign_in
from trellis.demo import personas
from trellis.interop.disclosures import FHIR_EXPORT, FHIR_READ, RECORD_EXPORT, note_disclosure
from trellis.interop.models import AmendmentRequest, AmendmentStatus, BackendClient
from trellis.interop.record import amendments
from trellis.interop.tests.record_helpers import JOURNAL, MESSAGE, MOOD_NOTE, alex_with_a_record
from trellis.nudges import dispatch, messages
from trellis.nudges.models import Delivery, Notification

pytestmark = pytest.mark.django_db

MINE = "/me/record/"
NEW = "/me/record/corrections/new/"
CHANGE = "My mood on that day was 4, not 6: I pressed the wrong number."


@pytest.fixture
def record(cast: Any) -> Any:
    return alex_with_a_record(cast)


def _request(cast: Any, *, about: str = "mood", change: str = CHANGE) -> AmendmentRequest:
    return amendments.request_amendment(
        patient=cast["patient_alex"], about=about, change=change, now=timeutil.now()
    )


# My record -----------------------------------------------------------------------------


def test_my_record_shows_every_part_in_plain_words(record: Any, client_for: Any) -> None:
    response = client_for("patient_alex").get(MINE)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Alex Rivera", "Steady steps", "PHQ-9", "16 of 27", "Moderately severe"):
        assert text in page
    assert MOOD_NOTE in page and JOURNAL in page and MESSAGE in page
    assert "/me/record/download/html/" in page and "/me/record/disclosures/" in page


def test_a_patient_with_nothing_yet_still_has_a_record_page(cast: Any, client_for: Any) -> None:
    page = client_for("patient_blair").get(MINE).content.decode()
    assert "You have not started a program." in page
    assert "No questionnaires answered yet." in page


def test_staff_get_403_on_my_record_and_anonymous_visitors_sign_in(
    cast: Any, client_for: Any, client: Any
) -> None:
    assert client_for("therapist_maria").get(MINE).status_code == 403
    assert client_for("researcher_lee").get(MINE).status_code == 403
    response = client.get(MINE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_patients_own_page_is_not_audited_as_a_read(record: Any, client_for: Any) -> None:
    before = AuditEvent.objects.count()
    client_for("patient_alex").get(MINE)
    assert not AuditEvent.objects.filter(id__gt=before, action__endswith=".view").exists()


# Downloads -----------------------------------------------------------------------------


def test_the_html_summary_is_a_standalone_download_with_the_scores(
    record: Any, client_for: Any, cast: Any
) -> None:
    response = client_for("patient_alex").get("/me/record/download/html/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Disposition"].startswith('attachment; filename="trellis-record-')
    assert response["Content-Disposition"].endswith('.html"')
    page = response.content.decode()
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "<link" not in page and "<script" not in page  # reads offline
    assert "16 / 27" in page and "Moderately severe" in page
    assert "More than half the days" in page  # the answers themselves
    assert JOURNAL in page and MESSAGE in page and MOOD_NOTE in page  # decrypted
    event = AuditEvent.objects.get(action=RECORD_EXPORT)
    assert event.actor_id == cast["patient_alex"].pk
    assert event.patient_id == cast["patient_alex"].pk
    assert event.details == {"format": "html"}


def test_the_json_download_parses_and_holds_everything(
    record: Any, client_for: Any, cast: Any
) -> None:
    response = client_for("patient_alex").get("/me/record/download/json/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    data = json.loads(response.content)
    assert data["format"] == "trellis.patient-record" and data["version"] == 1
    assert data["patient"]["email"] == "alex@patients.example"
    (answered,) = data["questionnaires"]
    assert (answered["instrument"], answered["total"], answered["band"]) == (
        "PHQ-9",
        16,
        "Moderately severe",
    )
    assert len(answered["answers"]) == 10
    assert data["mood_check_ins"][0]["note"] == MOOD_NOTE
    assert data["journal_entries"][0]["text"] == JOURNAL
    assert data["messages"][0]["text"] == MESSAGE and data["messages"][0]["from_you"] is True
    assert data["programs"][0]["supporters"] == ["Maria Lindqvist"]
    assert data["generated_at"].endswith("Z")
    assert AuditEvent.objects.filter(action=RECORD_EXPORT, details={"format": "json"}).count() == 1


def test_the_fhir_download_is_a_valid_r4_bundle_of_the_patients_data(
    record: Any, client_for: Any, cast: Any
) -> None:
    response = client_for("patient_alex").get("/me/record/download/fhir/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert response["Content-Disposition"].endswith('.fhir.json"')
    data = json.loads(response.content)
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    types = {entry.resource.get_resource_type() for entry in bundle.entry or []}
    assert {"Patient", "QuestionnaireResponse", "Observation"} <= types
    patients = [
        e.resource for e in bundle.entry or [] if e.resource.get_resource_type() == "Patient"
    ]
    assert [p.id for p in patients] == [str(cast["patient_alex"].pk)]
    event = AuditEvent.objects.get(action=RECORD_EXPORT)
    assert event.details == {"format": "fhir"} and event.patient_id == cast["patient_alex"].pk


def test_an_unknown_download_format_is_404_and_writes_nothing(record: Any, client_for: Any) -> None:
    assert client_for("patient_alex").get("/me/record/download/pdf/").status_code == 404
    assert not AuditEvent.objects.filter(action=RECORD_EXPORT).exists()


def test_staff_cannot_download_a_record(record: Any, client_for: Any) -> None:
    assert client_for("therapist_maria").get("/me/record/download/json/").status_code == 403


# Requests for corrections ----------------------------------------------------------------


def test_a_patient_asks_for_a_correction_and_sees_it_waiting(
    record: Any, client_for: Any, cast: Any
) -> None:
    alex = client_for("patient_alex")
    form = alex.get(NEW + "?about=mood").content.decode()
    assert 'value="mood" selected' in form
    response = alex.post(NEW, {"about": "mood", "change": CHANGE})
    assert response.status_code == 302 and response["Location"] == MINE + "#amendments"
    request = AmendmentRequest.objects.get()
    assert request.patient == cast["patient_alex"]
    assert request.organization == cast.clinics["riverside"]
    assert request.requested_change == CHANGE and request.status == AmendmentStatus.PENDING
    event = AuditEvent.objects.get(action=amendments.REQUESTED)
    assert event.patient_id == cast["patient_alex"].pk and event.details == {
        "about": "mood",
        "change_chars": len(CHANGE),
    }
    assert CHANGE not in json.dumps(event.details)
    page = alex.get(MINE).content.decode()
    assert CHANGE in page and "Waiting for a clinician" in page and "Answer due by" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"about": "mood", "change": "   "}, "This field is required."),
        ({"about": "", "change": CHANGE}, "This field is required."),
        ({"about": "salary", "change": CHANGE}, "Select a valid choice."),
        ({"about": "mood", "change": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_a_request_with_bad_input_is_400_with_a_message_and_writes_nothing(
    record: Any, client_for: Any, data: dict[str, str], message: str
) -> None:
    response = client_for("patient_alex").post(NEW, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AmendmentRequest.objects.exists()


def test_the_service_refuses_an_empty_change_itself(record: Any, cast: Any) -> None:
    with pytest.raises(ValidationError):
        _request(cast, change="  ")
    assert not AmendmentRequest.objects.exists()


def test_a_clinician_of_the_care_team_accepts_and_the_patient_sees_it_beside_the_part(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    maria = client_for("therapist_maria")
    listing = maria.get("/clinic/amendments/").content.decode()
    assert "Alex Rivera" in listing and f"/clinic/amendments/{request.pk}/" in listing
    detail = maria.get(f"/clinic/amendments/{request.pk}/")
    assert detail.status_code == 200 and CHANGE in detail.content.decode()
    response = maria.post(f"/clinic/amendments/{request.pk}/decide/", {"decision": "accept"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == AmendmentStatus.ACCEPTED
    assert request.decided_by == cast["therapist_maria"] and request.decided_at is not None
    event = AuditEvent.objects.get(action=amendments.ACCEPTED)
    assert event.actor_id == cast["therapist_maria"].pk
    assert event.patient_id == cast["patient_alex"].pk
    # The patient is told in Trellis, without the details.
    (delivery,) = Delivery.objects.filter(
        recipient=cast["patient_alex"], template="amendment_decided"
    )
    assert delivery.channel == "in_app" and delivery.status == "queued"
    page = client_for("patient_alex").get(MINE).content.decode()
    assert "Accepted by Maria Lindqvist" in page
    mood = page.split('id="part-mood"')[1].split("</section>")[0]
    assert "Correction added on" in mood and CHANGE in mood
    assert MOOD_NOTE in mood  # the original stays
    summary = client_for("patient_alex").get("/me/record/download/html/").content.decode()
    assert "Correction added on" in summary


def test_the_decision_reaches_the_patient_as_an_in_app_notification(record: Any, cast: Any) -> None:
    request = _request(cast)
    now = timeutil.now()
    amendments.decide_amendment(
        request, actor=cast["therapist_maria"], decision="accept", reason="", now=now
    )
    (delivery,) = Delivery.objects.filter(template="amendment_decided")
    # In-app only, at a time the clinic allows (a decision late at night waits till morning).
    sent = dispatch.deliver(delivery.pk, now=delivery.next_attempt_at or now)
    assert sent.status == "delivered", sent.reason
    notice = Notification.objects.get(user=cast["patient_alex"])
    assert notice.title == "An answer about your record"
    assert "accepted" in notice.body and CHANGE not in notice.body
    assert messages.destination(sent) == "/me/record/"  # where its opening link leads


def test_a_refusal_needs_a_reason_and_the_patient_reads_it(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    maria = client_for("therapist_maria")
    url = f"/clinic/amendments/{request.pk}/decide/"
    response = maria.post(url, {"decision": "refuse", "reason": " "})
    assert response.status_code == 400
    assert "Say why the correction is refused" in response.content.decode()
    request.refresh_from_db()
    assert request.status == AmendmentStatus.PENDING
    reason = "The check-in shows what was entered that day; I have noted your comment."
    assert maria.post(url, {"decision": "refuse", "reason": reason}).status_code == 302
    request.refresh_from_db()
    assert request.status == AmendmentStatus.REFUSED and request.reason == reason
    assert AuditEvent.objects.filter(action=amendments.REFUSED).count() == 1
    page = client_for("patient_alex").get(MINE).content.decode()
    assert "Refused by Maria Lindqvist" in page and reason in page
    assert "statement" in page


def test_deciding_twice_is_409_and_changes_nothing(record: Any, client_for: Any, cast: Any) -> None:
    request = _request(cast)
    maria = client_for("therapist_maria")
    url = f"/clinic/amendments/{request.pk}/decide/"
    assert maria.post(url, {"decision": "accept"}).status_code == 302
    again = maria.post(url, {"decision": "refuse", "reason": "Changed my mind."})
    assert again.status_code == 409
    assert "already decided" in again.content.decode()
    request.refresh_from_db()
    assert request.status == AmendmentStatus.ACCEPTED
    assert AuditEvent.objects.filter(action=amendments.REFUSED).count() == 0


def test_a_decision_without_a_choice_is_400(record: Any, client_for: Any, cast: Any) -> None:
    request = _request(cast)
    response = client_for("therapist_maria").post(f"/clinic/amendments/{request.pk}/decide/", {})
    assert response.status_code == 400


def test_a_clinician_of_another_team_or_clinic_gets_404(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    for outsider in ("therapist_sam", "therapist_otto", "supervisor_mika"):
        client = client_for(outsider)
        assert client.get(f"/clinic/amendments/{request.pk}/").status_code == 404, outsider
        decided = client.post(f"/clinic/amendments/{request.pk}/decide/", {"decision": "accept"})
        assert decided.status_code == 404, outsider
        assert "Alex Rivera" not in client.get("/clinic/amendments/").content.decode()
    request.refresh_from_db()
    assert request.status == AmendmentStatus.PENDING


def test_a_coach_of_another_team_gets_404(record: Any, cast: Any) -> None:
    request = _request(cast)
    river = accounts.create_person(
        organization=cast.clinics["riverside"],
        email="river.coach@riverside.example",
        full_name="River Ito",
        role=Role.COACH,
        team=cast.teams[("riverside", "Mood team")],
        password=personas.DEMO_PASSWORD,
        actor=None,
    ).user
    accounts.enroll_totp(user=river, actor=None, key_hex="00" * 20, confirmed=True)
    client = sign_in(Client(), river, verified=True)
    assert client.get(f"/clinic/amendments/{request.pk}/").status_code == 404
    assert (
        client.post(f"/clinic/amendments/{request.pk}/decide/", {"decision": "accept"}).status_code
        == 404
    )
    assert "Alex Rivera" not in client.get("/clinic/amendments/").content.decode()


def test_researchers_admins_and_patients_get_403_on_the_clinicians_pages(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    for who in ("researcher_lee", "admin_avery", "patient_alex", "patient_blair"):
        client = client_for(who)
        assert client.get("/clinic/amendments/").status_code == 403, who
        assert client.get(f"/clinic/amendments/{request.pk}/").status_code == 403, who


def test_the_supervisor_and_the_teams_coach_may_decide(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    assert client_for("supervisor_ruth").get(f"/clinic/amendments/{request.pk}/").status_code == 200
    assert client_for("coach_jordan").get(f"/clinic/amendments/{request.pk}/").status_code == 200


def test_a_clinicians_reads_are_audited(record: Any, client_for: Any, cast: Any) -> None:
    request = _request(cast)
    maria = client_for("therapist_maria")
    before = AuditEvent.objects.order_by("-id").first().id
    maria.get("/clinic/amendments/")
    maria.get(f"/clinic/amendments/{request.pk}/")
    new = AuditEvent.objects.filter(id__gt=before, actor_id=cast["therapist_maria"].pk)
    listed = new.get(action="amendments.list")
    assert listed.details["patients"] == [str(cast["patient_alex"].pk)]
    assert new.filter(action="record.view", patient_id=cast["patient_alex"].pk).exists()


def test_another_patients_request_is_not_in_anyone_elses_reach(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = _request(cast)
    # A patient has no page of one request: the clinicians' page is 403 for every patient,
    # and the request is nowhere on another patient's record.
    blair = client_for("patient_blair")
    assert blair.get(f"/clinic/amendments/{request.pk}/").status_code == 403
    assert CHANGE not in blair.get(MINE).content.decode()
    assert amendments.amendments_for(cast["patient_blair"]).count() == 0


# The accounting of disclosures ----------------------------------------------------------


def _client(cast: Any) -> BackendClient:
    return BackendClient.objects.create(
        organization=cast.clinics["riverside"],
        name="Riverside EHR",
        client_id="riverside-ehr",
        scopes="system/*.read",
    )


def test_the_accounting_lists_reads_and_exports_with_the_recipient_and_what(
    record: Any, client_for: Any, cast: Any
) -> None:
    ehr = _client(cast)
    alex = cast["patient_alex"]
    note_disclosure(
        client=ehr,
        action=FHIR_READ,
        patient_ids=[alex.pk],
        details={"type": "Observation", "query": "patient=123&code=44261-6"},
    )
    note_disclosure(
        client=ehr,
        action=FHIR_EXPORT,
        patient_ids=[alex.pk, cast["patient_blair"].pk],
        details={"types": ["Patient", "QuestionnaireResponse"]},
    )
    alex_client = client_for("patient_alex")
    alex_client.get("/me/record/download/json/")
    page = alex_client.get("/me/record/disclosures/").content.decode()
    assert page.count("Riverside EHR") == 2
    assert "your questionnaire scores (Observation)" in page
    assert "Bulk export" in page and "your questionnaire answers (QuestionnaireResponse)" in page
    assert "code=44261-6" in page
    assert "Everything, for a computer (JSON)" in page  # their own download, listed apart
    blair_page = client_for("patient_blair").get("/me/record/disclosures/").content.decode()
    assert blair_page.count("Riverside EHR") == 1  # only the export that carried Blair's data
    farah_page = client_for("patient_farah").get("/me/record/disclosures/").content.decode()
    assert "Riverside EHR" not in farah_page


def test_the_accounting_is_paged_newest_first(record: Any, client_for: Any, cast: Any) -> None:
    ehr = _client(cast)
    alex = cast["patient_alex"]
    for number in range(30):
        note_disclosure(
            client=ehr, action=FHIR_READ, patient_ids=[alex.pk], details={"query": f"n={number}"}
        )
    client = client_for("patient_alex")
    first = client.get("/me/record/disclosures/").content.decode()
    assert "Page 1 of 2" in first and "n=29" in first and "n=0<" not in first
    second = client.get("/me/record/disclosures/?page=2").content.decode()
    assert "n=0<" in second and "n=29" not in second
    assert client.get("/me/record/disclosures/?page=nonsense").status_code == 200


def test_staff_get_403_on_the_accounting(cast: Any, client_for: Any) -> None:
    assert client_for("supervisor_ruth").get("/me/record/disclosures/").status_code == 403


def test_the_request_page_links_back_and_the_names_reverse() -> None:
    assert reverse("record:mine") == MINE
    assert reverse("record:request_amendment") == NEW
    assert reverse("record:download", kwargs={"fmt": "fhir"}) == "/me/record/download/fhir/"


def test_a_late_request_is_marked_on_the_clinicians_list(
    record: Any, client_for: Any, cast: Any
) -> None:
    request = amendments.request_amendment(
        patient=cast["patient_alex"],
        about="questionnaires",
        change="The PHQ-9 of last week is not mine.",
        now=timeutil.now() - timedelta(days=61),
    )
    listing = client_for("therapist_maria").get("/clinic/amendments/").content.decode()
    assert "(late)" in listing
    assert str(request.pk) in listing
