"""A clinic admin uploads a file of referrals: who may, every problem named by line and
column with nothing written, the invitations it becomes, the summary, and the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from trellis.accounts.models import Invitation
from trellis.audit.models import AuditEvent
from trellis.care.models import PatientInvitation, SupportLevel
from trellis.interop.models import (
    PatientIdentifier,
    Referral,
    ReferralOutcome,
    ReferralSettings,
    ReferralSource,
)
from trellis.interop.referrals import csvfile
from trellis.interop.referrals.csvfile import FileRejected, parse_csv
from trellis.interop.tests.referral_factories import MRN, referral_settings
from trellis.journey.tests.factories import PACK_SLUG, enroll_alex, publish_test_pack
from trellis.programs.models import Program

HEADER = "identifier_system,identifier_value,given_name,family_name,email,program,support_level,phone,language,birth_date\n"  # noqa: E501


def _row(value: str, email: str, *, program: str = "", level: str = "") -> str:
    return f"{MRN},{value},Nina,Novak,{email},{program},{level},,fi,1990-04-12\n"


def _upload(client: Any, text: str | bytes, name: str = "referrals.csv") -> Any:
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("referrals:upload"),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def _nothing_written() -> None:
    assert Referral.objects.count() == 0
    assert PatientIdentifier.objects.count() == 0
    assert not Invitation.objects.filter(role="patient").exists()


# --- the pure reader ---------------------------------------------------------------


def _problems(text: str | bytes) -> list[tuple[int, str]]:
    with pytest.raises(FileRejected) as raised:
        parse_csv(text.encode() if isinstance(text, str) else text)
    return [(p.line, p.column) for p in raised.value.problems]


def test_reader_takes_a_clean_file_with_a_byte_order_mark_and_blank_lines() -> None:
    text = "\ufeff" + HEADER + _row("1", "A@Example.org") + "\n" + _row("2", "b@example.org")
    referrals = parse_csv(text.encode())
    assert [(r.identifier_value, r.email, r.line) for r in referrals] == [
        ("1", "a@example.org", 2),
        ("2", "b@example.org", 4),
    ]
    assert referrals[0].full_name == "Nina Novak"
    assert referrals[0].language == "fi"


def test_reader_needs_only_the_three_required_columns_in_any_order() -> None:
    referrals = parse_csv(b"email,identifier_value,identifier_system\nx@example.org,7,sys\n")
    assert referrals[0].identifier_key == ("sys", "7")


def test_reader_names_line_and_column_of_each_problem() -> None:
    text = (
        HEADER
        + _row("1", "not-an-address")
        + _row("", "b@example.org")
        + _row("3", "c@example.org", level="intensive")
        + f"{MRN},4,Nina,Novak,d@example.org,,,,en,12/04/1990\n"
    )
    assert _problems(text) == [
        (2, "email"),
        (3, "identifier_value"),
        (4, "support_level"),
        (5, "birth_date"),
    ]


def test_reader_reports_duplicate_identifiers_in_one_file() -> None:
    text = HEADER + _row("1", "a@example.org") + _row("1", "other@example.org")
    with pytest.raises(FileRejected) as raised:
        parse_csv(text.encode())
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (3, "identifier_value")
    assert "line 2" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"", [(0, "")]),
        (b"identifier_system,email\n", [(1, "identifier_value")]),
        (b"identifier_system,identifier_value,email,mrn\n", [(1, "mrn")]),
        (b"identifier_system,identifier_value,email,email\n", [(1, "email")]),
        (HEADER.encode(), [(0, "")]),
        (HEADER.encode() + b"sys,1,x@example.org\n", [(2, "")]),
        (HEADER.encode() + b"\xff\xfe\n", [(2, "")]),
        (b"\x00\x01PK", [(0, "")]),
    ],
    ids=[
        "empty",
        "missing-column",
        "unknown-column",
        "column-twice",
        "no-rows",
        "wrong-count",
        "not-utf8",
        "binary",
    ],
)
def test_reader_refuses_a_malformed_file(text: bytes, expected: list[tuple[int, str]]) -> None:
    assert _problems(text) == expected


def test_reader_refuses_too_many_rows(monkeypatch: Any) -> None:
    monkeypatch.setattr(csvfile, "MAX_ROWS", 2)
    text = HEADER + "".join(_row(str(i), f"p{i}@example.org") for i in range(3))
    assert _problems(text) == [(4, "")]


# --- who may use the page ----------------------------------------------------------


@pytest.mark.parametrize("who", ["therapist_maria", "supervisor_ruth", "patient_alex"])
def test_only_admins_may_see_or_upload(cast: Any, client_for: Any, who: str) -> None:
    client = client_for(who)
    assert client.get(reverse("referrals:page")).status_code == 403
    assert _upload(client, HEADER + _row("1", "a@example.org")).status_code == 403
    _nothing_written()


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get(reverse("referrals:page"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- uploads -------------------------------------------------------------------------


def test_a_clean_file_invites_every_patient_and_shows_a_summary(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    referral_settings(cast)
    alex = cast["patient_alex"]
    enroll_alex(cast)
    client = client_for("admin_avery")
    text = (
        HEADER
        + _row("1", "nina@patients.example", program=PACK_SLUG, level="coached")
        + _row("2", alex.email)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, text)

    assert response.status_code == 200, response.content
    page = response.content.decode()
    assert "Invited: <strong>1</strong>" in page
    assert "Already enrolled: <strong>1</strong>" in page
    assert "Already invited: <strong>0</strong>" in page
    assert "nina@patients.example" not in page

    invitation = Invitation.objects.get(email="nina@patients.example")
    assert invitation.invited_by == cast["therapist_maria"]
    assert PatientInvitation.objects.get(invitation=invitation).support_level == "coached"
    referral = Referral.objects.get(invitation=invitation)
    assert referral.source == ReferralSource.CSV
    assert referral.uploaded_by == cast["admin_avery"]
    assert "language: fi" in referral.note
    assert len(smtp.to("nina@patients.example")) == 1
    assert not smtp.to(alex.email)
    events = AuditEvent.objects.filter(action="referral.receive")
    assert events.count() == 2
    assert {e.actor_id for e in events} == {cast["admin_avery"].pk}


def test_uploading_the_same_file_twice_invites_nobody_twice(cast: Any, client_for: Any) -> None:
    referral_settings(cast)
    client = client_for("admin_avery")
    text = HEADER + _row("1", "nina@patients.example") + _row("2", "omar@patients.example")
    assert _upload(client, text).status_code == 200
    second = _upload(client, text)
    assert second.status_code == 200
    assert "Already invited: <strong>2</strong>" in second.content.decode()
    assert Invitation.objects.filter(role="patient").count() == 2
    assert Referral.objects.filter(outcome=ReferralOutcome.ALREADY_INVITED).count() == 2


def test_a_file_with_a_bad_line_is_400_names_it_and_writes_nothing(
    cast: Any, client_for: Any
) -> None:
    referral_settings(cast)
    client = client_for("admin_avery")
    text = HEADER + _row("1", "nina@patients.example") + _row("2", "not-an-address")
    response = _upload(client, text)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file was not imported" in page
    assert "<td>3</td>" in page and "<code>email</code>" in page
    _nothing_written()


def test_an_unknown_program_refuses_the_whole_file(cast: Any, client_for: Any) -> None:
    referral_settings(cast)
    client = client_for("admin_avery")
    text = HEADER + _row("1", "nina@patients.example") + _row("2", "o@p.example", program="nope")
    response = _upload(client, text)
    assert response.status_code == 400
    assert "<td>3</td>" in response.content.decode()
    assert "nope" in response.content.decode()
    _nothing_written()


def test_a_clinic_without_an_inviter_refuses_the_file(cast: Any, client_for: Any) -> None:
    response = _upload(client_for("admin_avery"), HEADER + _row("1", "nina@patients.example"))
    assert response.status_code == 400
    assert "has not chosen the clinician" in response.content.decode()
    _nothing_written()


def test_a_file_over_the_size_limit_is_refused_with_a_message(cast: Any, client_for: Any) -> None:
    referral_settings(cast)
    big = HEADER + _row("1", "nina@patients.example") + "#" * csvfile.MAX_BYTES
    response = _upload(client_for("admin_avery"), big)
    assert response.status_code == 400
    assert "larger than 1000 kB" in response.content.decode()
    _nothing_written()


def test_no_file_is_400(cast: Any, client_for: Any) -> None:
    response = client_for("admin_avery").post(reverse("referrals:upload"), {})
    assert response.status_code == 400
    assert "Choose a CSV file to upload." in response.content.decode()


# --- the page and the settings -------------------------------------------------------


def test_the_page_lists_recent_referrals_with_masked_identifiers(
    cast: Any, client_for: Any
) -> None:
    referral_settings(cast)
    client = client_for("admin_avery")
    _upload(client, HEADER + _row("98765432", "nina@patients.example"))
    response = client.get(reverse("referrals:page"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "5432" in page and "98765432" not in page
    assert "Waiting to be accepted" in page
    assert "Avery Quinn" in page
    assert 'role="region" aria-labelledby="recent-heading" tabindex="0"' in page


def test_an_admin_chooses_who_invites_and_the_defaults(cast: Any, client_for: Any) -> None:
    publish_test_pack()
    program = Program.objects.get(slug=PACK_SLUG)
    client = client_for("admin_avery")
    response = client.post(
        reverse("referrals:settings"),
        {
            "inviter": cast["coach_jordan"].pk,
            "default_program": program.pk,
            "default_support_level": SupportLevel.COACHED,
        },
    )
    assert response.status_code == 302
    saved = ReferralSettings.objects.get(organization=cast.clinics["riverside"])
    assert saved.inviter == cast["coach_jordan"]
    assert saved.default_program == program
    assert AuditEvent.objects.filter(action="referral.settings").exists()


def test_a_researcher_or_another_clinics_clinician_cannot_be_the_inviter(
    cast: Any, client_for: Any
) -> None:
    client = client_for("admin_avery")
    for who in ("researcher_lee", "therapist_otto"):
        response = client.post(
            reverse("referrals:settings"),
            {"inviter": cast[who].pk, "default_support_level": SupportLevel.SELF_GUIDED},
        )
        assert response.status_code == 400
    assert not ReferralSettings.objects.exists()
