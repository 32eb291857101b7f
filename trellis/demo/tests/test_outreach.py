"""Demo outreach: rules for every clinic, reminders sent through the real pipeline (in-app
notifications, e-mails and texts written to the outbox folders), nothing twice; and
`trellis demo` writes its e-mails and texts under var/outbox/ and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.urls import reverse

from trellis.core.config import mailers_from_url
from trellis.demo.journeys import seed_journeys
from trellis.demo.outreach import DEMO_PHONES, outbox_folders, seed_outreach
from trellis.nudges.models import Delivery, Notification, ReminderRule, RuleKind
from trellis.nudges.phones import normalize

# A Thursday afternoon in New York: the demo's days before it are Monday to Wednesday.
NOW = datetime(2026, 3, 19, 20, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    """E-mails and texts written to folders under tmp_path, as `trellis demo` does."""
    settings.MAILERS = mailers_from_url("file://outbox/email", base=tmp_path)
    sms = getattr(django_settings, "TRELLIS_SMS", None) or {}
    settings.TRELLIS_SMS = {**sms, "OUTBOX": str(tmp_path / "outbox/sms")}
    return tmp_path / "outbox"


def _counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def _seed(cast: Any) -> Any:
    seed_journeys(cast, NOW, warn=lambda _line: None)
    return seed_outreach(cast, NOW)


def test_every_clinic_gets_its_rules_and_a_second_run_adds_nothing(cast: Any, outbox: Path) -> None:
    seeded = _seed(cast)
    for clinic in cast.clinics.values():
        kinds = set(ReminderRule.objects.filter(organization=clinic).values_list("kind", flat=True))
        assert kinds >= {RuleKind.EXERCISE_TODAY, RuleKind.QUESTIONNAIRE_DUE}
    assert seeded.rules == ReminderRule.objects.count()
    before = _counts()
    again = seed_outreach(cast, NOW.replace(hour=22))
    assert _counts() == before
    assert (again.deliveries, again.notifications) == (seeded.deliveries, seeded.notifications)


def test_demo_patients_have_notifications_and_their_record_shows_the_log(
    cast: Any, client_for: Any, outbox: Path
) -> None:
    seeded = _seed(cast)
    alex = cast["patient_alex"]
    assert Notification.objects.filter(user=alex).count() >= 3
    assert Notification.objects.filter(user=alex, read_at=None).exists()
    assert Notification.objects.filter(user=cast["therapist_maria"]).exists()  # the digest
    assert seeded.unread >= 1
    statuses = set(Delivery.objects.filter(recipient=alex).values_list("channel", "status"))
    assert {("in_app", "delivered"), ("email", "sent"), ("sms", "sent")} <= statuses
    assert Delivery.objects.filter(recipient=alex, status="suppressed", reason="daily_cap").exists()
    assert Delivery.objects.filter(
        recipient=cast["patient_blair"], channel="sms", status="suppressed", reason="no_address"
    ).exists()
    assert Delivery.objects.filter(recipient=alex, opened_at__isnull=False).exists()

    page = client_for("patient_alex").get(reverse("nudges:notifications")).content.decode()
    assert "Today&#x27;s step is ready" in page or "Today's step is ready" in page
    enrollment = alex.enrollments.get()
    record = client_for("therapist_maria").get(
        reverse("caseload:record", kwargs={"pk": enrollment.pk})
    )
    log = record.content.decode().split('id="deliveries-heading"')[1].split("</section>")[0]
    assert "Reminder of today&#x27;s exercise" in log
    assert "already reached today&#x27;s limit" in log


def test_each_demo_notification_is_dated_when_its_nudge_went(cast: Any, outbox: Path) -> None:
    _seed(cast)
    notifications = list(Notification.objects.select_related("delivery"))
    assert notifications
    for notification in notifications:
        assert notification.created_at == notification.delivery.sent_at
        assert notification.created_at < NOW
    # Spread over the demo's past days, not all stamped at the moment of seeding.
    assert len({n.created_at.date() for n in notifications}) >= 3


def test_the_outbox_holds_the_emails_and_texts_that_were_sent(cast: Any, outbox: Path) -> None:
    _seed(cast)
    # The file backend writes each e-mail in full, then a line of 79 dashes; e-mails sent
    # in the same second may share a file.
    written = "".join(p.read_text() for p in (outbox / "email").iterdir())
    emails = [e for e in written.split("-" * 79 + "\n") if e.strip()]
    nudges = [e for e in emails if "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in e]
    assert len(nudges) == Delivery.objects.filter(channel="email", status="sent").count() > 0
    assert any("To: alex@patients.example" in e for e in nudges)
    texts = sorted((outbox / "sms").glob("*.txt"))
    assert len(texts) == Delivery.objects.filter(channel="sms", status="sent").count() > 0
    first = texts[0].read_text()
    assert "To: +15550100101" in first
    body = first.split("\n\n", 1)[1]
    assert "/n/" in body  # the link that records it opened
    for clinical in ("PHQ", "GAD", "anxiety", "depress", "score"):
        assert clinical.lower() not in body.lower()
    assert not list((outbox / "sms").glob(".*.part"))  # no half-written text


def test_outbox_folders_name_where_this_run_writes(outbox: Path) -> None:
    folders = outbox_folders()
    assert folders == {"email": str(outbox / "email"), "sms": str(outbox / "sms")}


@pytest.mark.slow
def test_trellis_demo_writes_under_var_outbox_and_says_so(tmp_path: Path) -> None:
    """`trellis demo` as `make demo` runs it: a fresh var directory, nothing configured."""
    unset = {"EMAIL_URL", "TRELLIS_SMS_OUTBOX", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {"TRELLIS_VAR_DIR": str(tmp_path), "TRELLIS_ENV": "dev"}
    # A handful of simulated patients, not the demo's 60: the outbox is what is checked here.
    env["TRELLIS_DEMO_SIMULATED_PATIENTS"] = "6"
    done = subprocess.run(
        [sys.executable, "-m", "trellis", "demo", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    email, sms = tmp_path / "outbox" / "email", tmp_path / "outbox" / "sms"
    assert f"E-mails the demo sends are written to files in {email}/" in done.stdout
    assert f"Text messages are written to files in {sms}/" in done.stdout
    assert any(email.iterdir())
    texts = list(sms.glob("*.txt"))
    assert texts
    number = normalize(DEMO_PHONES["patient_alex"])
    assert all(f"To: {number}" in text.read_text() for text in texts)
