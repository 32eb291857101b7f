from trellis.audit.integrity import verify_chain
from trellis.audit.models import AuditLink
from trellis.audit.sealer import seal_pending
from trellis.audit.services import record


def test_the_sealer_links_each_event_to_the_previous(db):
    first = record(action="test.first")
    second = record(action="test.second")
    assert seal_pending() == 2
    assert AuditLink.objects.get(event=second).prev_mac == AuditLink.objects.get(event=first).mac
    assert verify_chain().verified == 2


def test_smtp_fixture_receives_real_mail(smtp):
    from django.core.mail import send_mail

    send_mail("Hello", "Body text", "from@trellis.local", ["to@example.org"])
    assert smtp.to("to@example.org")[0].subject == "Hello"


def test_events_about_a_person_of_one_clinic_belong_to_that_clinic(cast):
    maria = cast["therapist_maria"]
    event = record(action="auth.login", actor=maria)
    assert event.organization_id == cast.clinics["riverside"].pk


def test_events_with_no_person_belong_to_no_clinic(db):
    assert (
        record(action="auth.login_failed", details={"email": "nobody@example.org"}).organization_id
        is None
    )


def test_audit_page_shows_times_in_the_clinics_time_zone(cast, client_for):
    from datetime import UTC, datetime

    record(
        action="test.summer",
        organization=cast.clinics["riverside"],
        at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    )
    page = client_for("admin_avery").get("/clinic/audit/?action=test.summer")
    assert page.status_code == 200
    # New York is on daylight time (UTC-4) in July.
    assert "2026-07-01 08:00:00" in page.content.decode()
