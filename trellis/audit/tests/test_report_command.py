import csv
import io
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command

from trellis.audit.models import AuditEvent
from trellis.audit.services import record
from trellis.core import timeutil


def _report(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "report", *args, stdout=out)
    return out.getvalue()


def test_patient_report_lists_every_event_about_that_patient(cast):
    alex, blair = cast["patient_alex"], cast["patient_blair"]
    record(action="patient.view", actor=cast["therapist_maria"], patient=alex)
    record(action="patient.view", actor=cast["therapist_maria"], patient=blair)
    out = _report("--patient", str(alex.pk))
    assert "patient.view" in out
    assert "maria.therapist@riverside.example" in out
    expected = AuditEvent.objects.filter(patient_id=alex.pk).exclude(action="audit.report").count()
    assert f"{expected + 1} events" in out  # the report itself is about alex too
    report_event = AuditEvent.objects.filter(action="audit.report").latest("id")
    assert report_event.patient_id == alex.pk


def test_user_report_covers_what_they_did_within_the_dates(cast):
    maria = cast["therapist_maria"]
    record(action="test.old", actor=maria, at=datetime(2025, 1, 5, tzinfo=timeutil.UTC))
    record(action="test.in_range", actor=maria, at=datetime(2025, 2, 5, tzinfo=timeutil.UTC))
    record(
        action="test.other_person",
        actor=cast["therapist_sam"],
        at=datetime(2025, 2, 6, tzinfo=timeutil.UTC),
    )
    out = _report("--user", str(maria.pk), "--since", "2025-02-01", "--until", "2025-03-01")
    assert "test.in_range" in out
    assert "test.old" not in out
    assert "test.other_person" not in out


def test_report_as_csv(cast):
    alex = cast["patient_alex"]
    record(action="patient.view", actor=cast["therapist_maria"], patient=alex)
    rows = list(csv.DictReader(io.StringIO(_report("--patient", str(alex.pk), "--csv"))))
    assert "patient.view" in [r["action"] for r in rows]
    assert all(r["patient_id"] == str(alex.pk) for r in rows)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--patient", "nope"],
        ["--patient", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "--since", "last week"],
    ],
)
def test_report_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        call_command("audit", "report", *args)
