from trellis.audit.services import record, verify_chain


def test_record_links_each_event_to_the_previous(db):
    first = record(action="test.first")
    second = record(action="test.second")
    assert second.prev_hash == first.hash
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
