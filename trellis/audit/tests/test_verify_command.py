import io
import json

import pytest
from django.core.management import call_command

from trellis.audit.models import AuditEvent
from trellis.audit.sealer import seal_pending
from trellis.audit.services import record
from trellis.audit.tests.helpers import delete_events, tamper


def _trail(n: int = 5) -> list[AuditEvent]:
    events = [record(action=f"test.step{i}", details={"n": i}) for i in range(n)]
    seal_pending()
    return events


def _verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_intact_trail_verifies_and_says_how_many(db):
    _trail(5)
    code, out, _ = _verify()
    assert code == 0
    assert "5 audit events verified" in out


def test_empty_trail_verifies(db):
    code, out, _ = _verify()
    assert code == 0
    assert "0 audit events verified" in out


def test_changed_action_names_that_row(db):
    events = _trail(5)
    target = events[2]
    tamper("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["test.innocent", target.pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={target.pk} " in err
    assert f"event_id={target.event_id}" in err
    assert "action=test.innocent" in err
    assert "time=" in err
    assert "content no longer matches its seal" in err


def test_changed_details_names_that_row(db):
    events = _trail(5)
    target = events[1]
    tamper(
        "UPDATE audit_auditevent SET details = %s WHERE id = %s",
        [json.dumps({"n": 99}), target.pk],
    )
    code, _, err = _verify()
    assert code == 1
    assert f"id={target.pk} " in err
    assert "2 verified events" not in err  # only the first row verified
    assert "after 1 verified events" in err


def test_deleted_middle_row_names_the_row_after_the_gap(db):
    events = _trail(5)
    delete_events("id = %s", [events[2].pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={events[3].pk} " in err
    assert "the chain skips from position 2 to 4 before it (a link was removed)" in err
    assert f"ids {events[2].pk}..{events[2].pk}" in err


def test_a_last_row_removed_before_more_are_sealed_leaves_a_gap(db):
    events = _trail(4)
    delete_events("id = %s", [events[3].pk])
    later = record(action="test.after")
    seal_pending()
    code, _, err = _verify()
    assert code == 1
    assert f"id={later.pk} " in err
    assert "the chain skips from position 3 to 5" in err


def test_deleted_last_row_is_caught_against_the_chain_head(db):
    events = _trail(5)
    delete_events("id = %s", [events[-1].pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={events[-1].pk} (no longer in the table)" in err
    assert "removed from the end" in err


def test_recomputed_hash_still_breaks_the_next_link(db):
    events = _trail(4)
    tamper("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[1].pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={events[1].pk} " in err


def test_events_waiting_for_the_sealer_verify_by_their_own_seal(db):
    _trail(3)
    waiting = [record(action=f"test.later{i}") for i in range(2)]
    code, out, _ = _verify()
    assert code == 0, out
    assert "5 audit events verified" in out
    assert "2 of them not yet linked into the chain" in out
    tamper("UPDATE audit_auditevent SET action = 'test.edited' WHERE id = %s", [waiting[1].pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={waiting[1].pk} " in err
    assert "content no longer matches its seal" in err


def test_an_event_taken_out_of_the_sealers_queue_fails(db):
    _trail(2)
    waiting = record(action="test.later")
    tamper("DELETE FROM audit_auditpending WHERE event_id = %s", [waiting.pk])
    code, _, err = _verify()
    assert code == 1
    assert f"id={waiting.pk} " in err
    assert "neither linked into the chain nor waiting for the sealer" in err


def test_the_seal_command_links_what_waits(db):
    _trail(2)
    record(action="test.later")
    out = io.StringIO()
    call_command("audit", "seal", stdout=out)
    assert "Linked 1 audit events into the chain." in out.getvalue()
    code, out_text, _ = _verify()
    assert code == 0
    assert "not yet linked" not in out_text


def test_progress_is_printed_for_large_trails(db):
    _trail(7)
    code, out, err = _verify("--batch-size", "3")
    assert code == 0
    assert "7 audit events verified" in out
    assert "3 of about 7 events checked" in err


@pytest.mark.parametrize("bad", ["0", "-5"])
def test_batch_size_must_be_positive(db, bad):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("audit", "verify", "--batch-size", bad)


@pytest.mark.slow
def test_editing_a_row_in_a_database_file_makes_the_command_exit_1(tmp_path):
    """End to end, as an operator would see it: a real database file edited with sqlite3."""
    import os
    import sqlite3
    import subprocess
    import sys

    db_file = tmp_path / "trellis.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "DATABASE_URL"))}
    env.update(
        TRELLIS_ENV="test", TRELLIS_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{db_file}"
    )

    def trellis(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trellis", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert trellis("migrate", "--no-input", "-v", "0").returncode == 0
    seeded = trellis(
        "shell",
        "-c",
        "from trellis import audit\nfor i in range(3): audit.record(action=f'demo.step{i}')",
    )
    assert seeded.returncode == 0, seeded.stderr
    ok = trellis("audit", "verify")
    assert ok.returncode == 0
    assert "3 audit events verified" in ok.stdout

    with sqlite3.connect(db_file) as raw:
        row_id = raw.execute(
            "SELECT id FROM audit_auditevent ORDER BY id LIMIT 1 OFFSET 1"
        ).fetchone()[0]
        raw.execute("UPDATE audit_auditevent SET action = 'demo.harmless' WHERE id = ?", (row_id,))
    broken = trellis("audit", "verify")
    assert broken.returncode == 1
    assert f"id={row_id} " in broken.stderr
    assert "action=demo.harmless" in broken.stderr
