"""Backup and restore time, and archive size, for the demo clinic and for 10,000 patients.

Creates a throw-away test database on the configured PostgreSQL (DATABASE_URL), runs
`trellis demo --no-serve` in it, and times `trellis backup` (the same code, in process)
and `trellis restore` into a fresh second database on the same server, RUNS times each.
Then it adds PATIENTS patients to the demo's clinic with a fast bulk generator and times
both again. After the first restore of each size it runs `trellis audit verify` on the
restored database, so the bulk audit rows are checked to chain exactly as the service
chains them. Prints medians (and each run) and the archive size.

    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python bench/backup.py --runs 3

The generator writes, per patient: a user, a membership, an enrollment in the demo's
program, 20 engagement events, 3 scored PHQ-9 responses with their answers, 2 journal
entries and 5 mood check-ins (free text encrypted with the data key, as the field does),
and 7 audit events (enrollment, responses, journal, a sign-in) sealed with the audit key
in chain order after the demo's events, with the chain head moved to the last one. It
prints how many rows of each it made.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 5000
JOURNAL = (
    "Noticed the worry spiral before bed and wrote it down instead of checking my phone.",
    "Went for the walk I planned even though I did not feel like it; mood a bit better.",
    "Hard day at work. Used the breathing exercise twice, it helped the second time.",
    "Talked to my sister about the panic on the bus. Felt lighter afterwards.",
)
MOOD_NOTES = ("slept badly", "good morning", "", "anxious before the meeting", "")
EVENT_TYPES = (
    "login",
    "step_viewed",
    "step_started",
    "step_completed",
    "exercise_rated",
    "activity_done",
    "journal_entry",
    "mood_checkin",
    "questionnaire_submitted",
    "reminder_opened",
)


def generate(patients: int, seed: int = 14) -> dict[str, int]:
    """Bulk-insert `patients` patients with their records into the demo's main clinic."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from trellis.accounts.models import Membership, Organization, Role, User
    from trellis.audit.chain import chained_fields, seal_row
    from trellis.audit.keyring import audit_keyring
    from trellis.audit.models import AuditEvent, AuditPending
    from trellis.audit.sealer import seal_pending
    from trellis.care.models import Enrollment
    from trellis.engagement.models import EngagementEvent
    from trellis.journey.models import JournalEntry, MoodCheckIn
    from trellis.measures.models import QuestionnaireResponse
    from trellis.measures.scoring import score
    from trellis.measures.services import _instrument
    from trellis.programs.models import ProgramVersion

    rng = random.Random(seed)
    clinic = Organization.objects.get(slug="riverside")
    version_id = (
        Enrollment.objects.filter(organization=clinic)
        .values_list("program_version", flat=True)
        .first()
    )
    assert version_id is not None, "run the demo first"
    version = ProgramVersion.objects.get(pk=version_id)
    phq9 = _instrument("PHQ-9")
    password = make_password("bench-patient-password")
    key_id, key = audit_keyring().current
    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    made: dict[str, int] = {}

    def put(model: Any, rows: list[Any]) -> None:
        model.objects.bulk_create(rows, batch_size=BATCH)
        made[model._meta.label] = made.get(model._meta.label, 0) + len(rows)

    with transaction.atomic():
        for start in range(0, patients, 1000):
            users, members, enrollments, events, responses = [], [], [], [], []
            journals, moods, audits = [], [], []
            for n in range(start, min(start + 1000, patients)):
                began = base + timedelta(minutes=7 * n)
                user = User(
                    email=f"bench.patient{n}@riverside.example",
                    full_name=f"Bench Patient {n}",
                    password=password,
                    phone=f"+1555{n:07d}",
                )
                enrollment = Enrollment(
                    patient=user,
                    organization=clinic,
                    program_version=version,
                    support_level=rng.choice(["self_guided", "coached", "therapist_assisted"]),
                    status="active",
                    started_at=began,
                )
                users.append(user)
                members.append(Membership(user=user, organization=clinic, role=Role.PATIENT))
                enrollments.append(enrollment)
                trail: list[tuple[datetime, str, str, str, dict[str, Any]]] = [
                    (began, "enrollment.create", "care.enrollment", str(enrollment.pk), {})
                ]
                for e in range(20):
                    events.append(
                        EngagementEvent(
                            enrollment=enrollment,
                            occurred_at=began + timedelta(hours=6 * e),
                            type=EVENT_TYPES[e % len(EVENT_TYPES)],
                        )
                    )
                for week in range(3):
                    answers = {f"q{i}": rng.randint(0, 3) for i in range(1, 9)} | {"q9": 0}
                    scored = score(phq9, answers)
                    response = QuestionnaireResponse(
                        enrollment=enrollment,
                        instrument="PHQ-9",
                        answers=answers,
                        total=scored.total,
                        prorated=scored.prorated,
                        band=scored.band.label if scored.band else "",
                        submitted_at=began + timedelta(days=7 * week),
                        client_id=uuid.uuid4(),
                    )
                    responses.append(response)
                    trail.append(
                        (
                            response.submitted_at,
                            "measures.submit",
                            "measures.questionnaireresponse",
                            str(response.pk),
                            {"instrument": "PHQ-9", "total": scored.total},
                        )
                    )
                for j in range(2):
                    entry = JournalEntry(
                        enrollment=enrollment,
                        body=rng.choice(JOURNAL),
                        shared_with_care_team=bool(j),
                        client_id=uuid.uuid4(),
                    )
                    journals.append(entry)
                    at = began + timedelta(days=2 + 5 * j)
                    trail.append((at, "journal.create", "journey.journalentry", str(entry.pk), {}))
                for m in range(5):
                    moods.append(
                        MoodCheckIn(
                            enrollment=enrollment,
                            score=rng.randint(2, 9),
                            note=MOOD_NOTES[m],
                            client_id=uuid.uuid4(),
                        )
                    )
                trail.append((began + timedelta(days=1), "auth.login", "", "", {}))
                for at, action, object_type, object_id, details in trail:
                    event = AuditEvent(
                        occurred_at=at,
                        actor_id=user.pk,
                        actor_label=user.email,
                        organization_id=clinic.pk,
                        action=action,
                        object_type=object_type,
                        object_id=object_id,
                        patient_id=user.pk,
                        ip="127.0.0.1",
                        user_agent="bench",
                        details=details,
                        prev_hash="",
                        key_id=key_id,
                    )
                    event.hash = seal_row(chained_fields(event), key_id=key_id, key=key)
                    audits.append(event)
            put(User, users)
            put(Membership, members)
            put(Enrollment, enrollments)
            put(EngagementEvent, events)
            put(QuestionnaireResponse, responses)
            put(JournalEntry, journals)
            put(MoodCheckIn, moods)
            put(AuditEvent, audits)
            put(AuditPending, [AuditPending(event_id=event.pk) for event in audits])
    # The sealer links them into the chain, as every clock does every few seconds.
    seal_pending()
    return made


def measure(label: str, runs: int, work: Path) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from trellis.core.backup.operations import make_backup, restore_backup
    from trellis.core.tests.test_backup import second_database

    backups, sizes, restores = [], [], []
    archive = work / f"{label}.tar"
    for run in range(runs):
        archive.unlink(missing_ok=True)
        result = make_backup(archive, now=timezone.now())
        backups.append(result.seconds)
        sizes.append(result.size)
        print(f"  backup run {run + 1}: {result.seconds:.1f} s, {result.size / 1e6:.1f} MB")
    rows = sum(result.manifest["rows"].values())
    var_dir, anchors = settings.VAR_DIR, settings.TRELLIS_AUDIT_ANCHOR_FILE
    for run in range(runs):
        settings.VAR_DIR = work / f"restored-var-{label}-{run}"
        settings.TRELLIS_AUDIT_ANCHOR_FILE = str(work / f"restored-anchors-{label}-{run}.jsonl")
        with second_database():
            restored = restore_backup(archive, force=False, say=lambda line: None)
            restores.append(restored.seconds)
            print(f"  restore run {run + 1}: {restored.seconds:.1f} s")
            if run == 0:
                started = time.monotonic()
                call_command("audit", "verify", stderr=StringIO())
                print(
                    f"  audit verify on the restored database: {time.monotonic() - started:.1f} s"
                )
        connection.close()
    settings.VAR_DIR, settings.TRELLIS_AUDIT_ANCHOR_FILE = var_dir, anchors
    print(
        f"{label}: {rows:,} rows, archive {statistics.median(sizes) / 1e6:.1f} MB; "
        f"backup median {statistics.median(backups):.1f} s "
        f"({', '.join(f'{s:.1f}' for s in backups)}), restore median "
        f"{statistics.median(restores):.1f} s ({', '.join(f'{s:.1f}' for s in restores)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trellis-bench-backup-"))
    os.environ["TRELLIS_VAR_DIR"] = str(work / "var")
    os.environ.setdefault("TRELLIS_DEMO_SIMULATED_PATIENTS", "60")
    os.environ.setdefault("EMAIL_URL", "memory://")  # the demo's mail goes nowhere
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/backup.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.monotonic()
        call_command("demo", "--no-serve", stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"demo clinic built in {time.monotonic() - started:.0f} s")
        call_command("audit", "anchor", stdout=open(os.devnull, "w"))  # noqa: SIM115
        measure("demo clinic", args.runs, work)
        started = time.monotonic()
        made = generate(args.patients)
        print(f"generated {args.patients:,} patients in {time.monotonic() - started:.0f} s:")
        for label, n in made.items():
            print(f"  {n:>9,} {label}")
        call_command("audit", "anchor", stdout=open(os.devnull, "w"))  # noqa: SIM115
        measure(f"demo clinic + {args.patients:,} patients", args.runs, work)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
