"""The audit trail cannot be cut, emptied or rewritten without `trellis audit verify` failing.

Each attack is done as an intruder with write access to the database would do it (raw SQL,
the append-only triggers switched off), and `trellis audit verify` is asked as an operator
would ask it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from trellis.audit import anchors
from trellis.audit.chain import (
    canonical,
    chained_fields,
    link_hash,
    seal,
    seal_link,
    seal_row,
    sign_anchor,
)
from trellis.audit.integrity import verify_chain
from trellis.audit.keyring import parse_audit_keys
from trellis.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditLink
from trellis.audit.sealer import seal_pending
from trellis.audit.services import record
from trellis.audit.tasks import anchor_audit_chain
from trellis.audit.tests.helpers import delete_events, run_audit, tamper
from trellis.core import periodic, timeutil

KEY_A1 = "a1:" + base64.b64encode(bytes(range(32))).decode()
KEY_A2 = "a2:" + base64.b64encode(bytes(range(32, 64))).decode()
STOLEN_LOOKALIKE = base64.b64decode(KEY_A1[3:])[::-1]  # same length, not the clinic's key


def _trail(n: int, start: int = 0) -> list[AuditEvent]:
    events = [record(action=f"test.step{i}", details={"n": i}) for i in range(start, start + n)]
    seal_pending()
    return events


def _link(event: AuditEvent) -> AuditLink:
    return AuditLink.objects.get(event=event)


def _head_at(event: AuditEvent) -> None:
    """Point the chain head at an event's link, as an intruder covering a cut would."""
    link = _link(event)
    tamper(
        "UPDATE audit_auditchainhead SET last_event_id = %s, last_hash = %s, last_position = %s",
        [event.pk, link.mac, link.position],
    )


def _anchor() -> str:
    code, out, err = run_audit("anchor")
    assert code == 0, err
    return out


def _failure() -> str:
    code, out, err = run_audit("verify")
    assert code == 1, out + err
    return err


def _rechain(
    make_row: Callable[[dict[str, Any], str], str],
    make_link: Callable[[str, int, str, str], str],
    *,
    key_id: str | None = None,
) -> None:
    """Rewrite one event's details and every seal and link from the first on, as an
    intruder would, with `make_row(fields, key_id)` and `make_link(prev, pk, row, key_id)`,
    and point the chain head at the result."""
    prev = GENESIS_HASH
    events = list(AuditEvent.objects.order_by("id"))
    events[len(events) // 2].details = {"rewritten": True}
    for event in events:
        kid = event.key_id if key_id is None else key_id
        row = make_row(chained_fields(event), kid)
        mac = make_link(prev, event.pk, row, kid)
        tamper(
            "UPDATE audit_auditevent SET details = %s, key_id = %s, hash = %s WHERE id = %s",
            [json.dumps(event.details), kid, row, event.pk],
        )
        tamper(
            "UPDATE audit_auditlink SET prev_mac = %s, mac = %s, key_id = %s WHERE event_id = %s",
            [prev, mac, kid, event.pk],
        )
        prev = mac
    tamper("UPDATE audit_auditchainhead SET last_hash = %s", [prev])


def _rechain_as_before_keying() -> None:
    """Turn every event into one written before the chain was keyed (plain SHA-256 chained
    as written, no key id, no links), changing one event's details."""
    prev = GENESIS_HASH
    events = list(AuditEvent.objects.order_by("id"))
    events[len(events) // 2].details = {"rewritten": True}
    tamper("DELETE FROM audit_auditlink")
    for event in events:
        event.key_id = ""
        digest = link_hash(prev, chained_fields(event))
        tamper(
            "UPDATE audit_auditevent SET details = %s, key_id = '', prev_hash = %s, hash = %s "
            "WHERE id = %s",
            [json.dumps(event.details), prev, digest, event.pk],
        )
        prev = digest
    tamper("UPDATE audit_auditchainhead SET last_hash = %s", [prev])


def _plain_row(fields: dict[str, Any], key_id: str) -> str:
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def _plain_link(prev: str, pk: int, row: str, key_id: str) -> str:
    return hashlib.sha256(f"{prev}\n{pk}\n{row}".encode()).hexdigest()


def _keyed(key: bytes) -> tuple[Callable[..., str], Callable[..., str]]:
    return (
        lambda fields, kid: seal_row(fields, key_id=kid, key=key),
        lambda prev, pk, row, kid: seal_link(prev, pk, row, key_id=kid, key=key),
    )


def _legacy_event(action: str) -> AuditEvent:
    """An event as Trellis wrote them before the chain was keyed (and before the sealer):
    plain SHA-256 over the previous event's, chained as it was written, no key id."""
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    event = AuditEvent(occurred_at=timeutil.now(), action=action, prev_hash=head.last_hash)
    event.hash = link_hash(head.last_hash, chained_fields(event))
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(
        last_hash=event.hash, last_event_id=event.pk, last_position=head.last_position + 1
    )
    return event


# --- a fresh install, and an intact trail ------------------------------------------------


def test_a_fresh_install_verifies(db, audit_anchor_file):
    code, out, _ = run_audit("verify")
    assert code == 0
    assert "0 audit events verified" in out
    assert "no anchors to check against yet" in out
    assert not audit_anchor_file.exists()


def test_an_intact_trail_verifies_against_its_anchors(db):
    _trail(3)
    _anchor()
    _trail(2, start=3)
    _anchor()
    record(action="test.after")
    code, out, _ = run_audit("verify")
    assert code == 0, out
    assert "6 audit events verified" in out
    assert "2 anchors hold; the latest is the anchor of" in out
    assert "(event #" in out and ", 5 events in)" in out


def test_events_are_sealed_with_the_newest_key_and_name_it(db, settings):
    settings.TRELLIS_AUDIT_KEYS = f"{KEY_A2},{KEY_A1}"
    key = parse_audit_keys(KEY_A2).current[1]
    event = record(action="test.sealed")
    assert event.key_id == "a2"
    assert event.prev_hash == ""
    assert event.hash == seal_row(chained_fields(event), key_id="a2", key=key)
    seal_pending()
    link = _link(event)
    assert (link.position, link.key_id, link.prev_mac) == (1, "a2", GENESIS_HASH)
    assert link.mac == seal_link(GENESIS_HASH, event.pk, event.hash, key_id="a2", key=key)
    # Not the chained seal of earlier versions, nor the unkeyed hash before those.
    assert event.hash != seal("", chained_fields(event), key_id="a2", key=key)
    assert event.hash != link_hash(event.prev_hash, chained_fields(event))


# --- cutting the tail ----------------------------------------------------------------------


def test_newest_events_deleted_with_the_head_row_fail_against_the_anchor(db):
    events = _trail(6)
    _anchor()
    delete_events("id >= %s", [events[4].pk])
    tamper("DELETE FROM audit_auditchainhead")
    err = _failure()
    assert f"event #{events[-1].pk}, 6 events in" in err
    assert "names an event the trail no longer holds" in err
    assert "events were removed from the end" in err


def test_events_after_the_last_anchor_deleted_with_the_head_row_fail(db):
    _trail(3)
    _anchor()
    later = _trail(3, start=3)
    delete_events("id >= %s", [later[0].pk])
    tamper("DELETE FROM audit_auditchainhead")
    err = _failure()
    assert "the chain head row is missing while the trail holds 3 events" in err


def test_a_missing_head_row_fails_even_before_the_first_anchor(db):
    _trail(4)
    tamper("DELETE FROM audit_auditchainhead")
    assert "the chain head row is missing" in _failure()


def test_a_head_rewritten_to_the_new_last_event_still_fails_against_the_anchor(db):
    events = _trail(5)
    _anchor()
    _head_at(events[2])
    delete_events("id > %s", [events[2].pk])
    err = _failure()
    assert f"event #{events[-1].pk}" in err
    assert "no longer holds" in err


def test_an_emptied_trail_fails_when_anchors_say_it_held_events(db):
    _trail(4)
    _anchor()
    delete_events("id > 0", [])
    tamper("DELETE FROM audit_auditchainhead")
    err = _failure()
    assert "the trail is empty, but 1 anchor(s) say it held events" in err


def test_events_past_the_chain_head_fail(db):
    events = _trail(3)
    _head_at(events[1])
    err = _failure()
    assert f"id={events[2].pk} " in err
    assert "comes after the event the chain head names" in err


# --- rewriting the chain -----------------------------------------------------------------


def test_a_chain_recomputed_without_the_key_fails(db):
    _trail(6)
    _rechain(_plain_row, _plain_link)
    err = _failure()
    assert "no longer matches its seal" in err
    assert "recomputed without the audit key" in err


def test_a_chain_recomputed_as_if_written_before_keying_fails(db):
    _trail(6)
    _rechain_as_before_keying()
    err = _failure()
    assert "sealed without a key and neither a keyed event nor an anchor follows" in err


def test_a_chain_recomputed_as_if_written_before_keying_fails_against_the_anchor(db):
    _trail(6)
    _anchor()
    _rechain_as_before_keying()
    assert "does not match the anchor of" in _failure()


def test_a_chain_recomputed_with_a_wrong_key_fails(db):
    _trail(6)
    _rechain(*_keyed(STOLEN_LOOKALIKE))
    assert "no longer matches its seal" in _failure()


def test_a_chain_recomputed_under_a_made_up_key_id_fails(db):
    _trail(4)
    _rechain(*_keyed(STOLEN_LOOKALIKE), key_id="forged1")
    assert "audit key 'forged1', which TRELLIS_AUDIT_KEYS does not hold" in _failure()


def test_a_chain_recomputed_with_the_key_itself_fails_against_the_anchor(db, settings):
    """Someone holding the database and the key can reseal rows, but not the anchors."""
    settings.TRELLIS_AUDIT_KEYS = KEY_A1
    key = parse_audit_keys(KEY_A1).current[1]
    _trail(6)
    _anchor()
    _rechain(*_keyed(key))
    assert "does not match the anchor of" in _failure()


# --- anchors -------------------------------------------------------------------------------


def _anchor_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_anchor_with_a_changed_field_fails(db, audit_anchor_file):
    events = _trail(3)
    _anchor()
    line = _anchor_lines(audit_anchor_file)[0]
    line.update(event=events[1].pk, count=2, mac=events[1].hash, event_id=str(events[1].event_id))
    audit_anchor_file.write_text(json.dumps(line) + "\n")
    err = _failure()
    assert "line 1: its signature does not verify (the anchor was forged or altered)" in err


def test_an_anchor_signed_with_another_key_fails(db, audit_anchor_file):
    events = _trail(3)
    forged = anchors.Anchor(
        event=events[0].pk,
        event_id=str(events[0].event_id),
        mac=events[0].hash,
        count=1,
        at="2026-01-01T00:00:00.000000Z",
        key_id=events[0].key_id,
    )
    line = {**forged.payload(), "sig": sign_anchor(forged.payload(), key=STOLEN_LOOKALIKE)}
    audit_anchor_file.write_text(json.dumps(line) + "\n")
    assert "signature does not verify" in _failure()


def test_an_anchor_line_that_is_not_an_anchor_fails(db, audit_anchor_file):
    _trail(2)
    _anchor()
    with audit_anchor_file.open("a") as extra:
        extra.write('{"event": 1}\n')
    err = _failure()
    assert "line 2: not an anchor" in err


def test_the_anchor_file_is_created_owner_only_and_only_ever_appended_to(db, audit_anchor_file):
    _trail(2)
    old_umask = os.umask(0)
    try:
        _anchor()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(audit_anchor_file.stat().st_mode) == 0o600
    first = audit_anchor_file.read_bytes()
    assert first.count(b"\n") == 1
    record(action="test.more")
    _anchor()
    second = audit_anchor_file.read_bytes()
    assert second.startswith(first)
    assert second.count(b"\n") == 2
    head = AuditChainHead.objects.get()
    assert json.loads(second.splitlines()[1])["event"] == head.last_event_id
    assert json.loads(second.splitlines()[1])["mac"] == head.last_hash


def test_an_existing_anchor_file_keeps_its_lines_and_its_mode(db, audit_anchor_file):
    audit_anchor_file.write_text("")
    audit_anchor_file.chmod(0o640)
    _trail(2)
    _anchor()
    assert stat.S_IMODE(audit_anchor_file.stat().st_mode) == 0o640
    assert len(_anchor_lines(audit_anchor_file)) == 1


def test_an_anchor_names_the_head_its_count_time_and_key(db, audit_anchor_file, settings):
    settings.TRELLIS_AUDIT_KEYS = f"{KEY_A2},{KEY_A1}"
    events = _trail(4)
    out = _anchor()
    assert f"Anchored event #{events[-1].pk} (4 events in)" in out
    (line,) = _anchor_lines(audit_anchor_file)
    assert line["event"] == events[-1].pk
    assert line["event_id"] == str(events[-1].event_id)
    assert line["mac"] == _link(events[-1]).mac
    assert line["count"] == 4
    assert line["key_id"] == "a2"
    assert line["at"].endswith("Z")
    key = parse_audit_keys(KEY_A2).current[1]
    assert line["sig"] == sign_anchor({k: v for k, v in line.items() if k != "sig"}, key=key)


def test_each_anchor_is_logged_too(db, caplog):
    _trail(2)
    with caplog.at_level(logging.INFO, logger="trellis.audit.anchors"):
        _anchor()
    assert "audit anchor {" in caplog.text


def test_a_trail_cut_and_its_anchor_file_removed_fails_against_the_log(
    db, caplog, tmp_path, audit_anchor_file
):
    """The anchor file is gone with the tail; the shipped log still carries the anchor."""
    first = _trail(5)[0]
    with caplog.at_level(logging.INFO, logger="trellis.audit.anchors"):
        _anchor()
    log = tmp_path / "trellis.log"
    log.write_text(
        "2026-03-10 14:00:00 INFO django.request: something else\n"
        + "".join(
            json.dumps({"event": r.getMessage(), "level": "info"}) + "\n" for r in caplog.records
        )
    )
    audit_anchor_file.unlink()
    _head_at(first)
    delete_events("id > %s", [first.pk])
    assert run_audit("verify")[0] == 0  # without the log, nothing is left to tell
    code, _, err = run_audit("verify", "--anchors", str(log))
    assert code == 1
    assert "no longer holds" in err


def test_no_anchor_is_written_for_a_broken_chain(db, audit_anchor_file):
    events = _trail(3)
    tamper("UPDATE audit_auditevent SET action = 'test.edited' WHERE id = %s", [events[1].pk])
    code, _, err = run_audit("anchor")
    assert code == 1
    assert "No anchor written" in err
    assert f"id={events[1].pk} " in err
    assert not audit_anchor_file.exists()


def test_anchoring_checks_the_events_since_the_last_anchor(db, audit_anchor_file):
    _trail(2)
    _anchor()
    later = _trail(2, start=2)
    tamper("UPDATE audit_auditevent SET action = 'test.edited' WHERE id = %s", [later[0].pk])
    code, _, err = run_audit("anchor")
    assert code == 1
    assert f"id={later[0].pk} " in err
    assert len(_anchor_lines(audit_anchor_file)) == 1


def test_an_empty_trail_has_nothing_to_anchor(db, audit_anchor_file):
    assert "nothing to anchor" in _anchor()
    assert not audit_anchor_file.exists()


def test_the_clock_anchors_the_trail_every_hour(db, audit_anchor_file):
    job = next(j for j in periodic.jobs() if j.name == "trellis.audit.tasks.anchor_audit_chain")
    assert job.every == timedelta(hours=1)
    events = _trail(2)
    assert anchor_audit_chain.call() == {"ok": True, "event": events[-1].pk, "broken_event": None}
    assert len(_anchor_lines(audit_anchor_file)) == 1


# --- keys ----------------------------------------------------------------------------------


def test_rotating_the_audit_key_keeps_older_events_verifying(db, settings):
    settings.TRELLIS_AUDIT_KEYS = KEY_A1
    _trail(3)
    _anchor()
    settings.TRELLIS_AUDIT_KEYS = f"{KEY_A2},{KEY_A1}"
    newer = _trail(2, start=3)
    assert {e.key_id for e in newer} == {"a2"}
    _anchor()
    code, out, _ = run_audit("verify")
    assert code == 0, out
    assert "5 audit events verified" in out
    assert "sealed with audit keys a1: 3, a2: 2" in out


def test_an_audit_key_removed_while_events_need_it_fails_by_name(db, settings):
    settings.TRELLIS_AUDIT_KEYS = KEY_A1
    _trail(2)
    settings.TRELLIS_AUDIT_KEYS = KEY_A2
    assert "audit key 'a1', which TRELLIS_AUDIT_KEYS does not hold" in _failure()


def test_unusable_audit_keys_fail_verification_with_the_reason(db, settings):
    settings.TRELLIS_AUDIT_KEYS = "a1:c2hvcnQ="
    assert "must be at least 32 bytes" in _failure()


# --- events written before the chain was keyed ------------------------------------------


def test_events_from_before_keying_verify_as_the_start_of_the_chain(db):
    legacy = [_legacy_event(f"test.old{i}") for i in range(3)]
    newer = _trail(2)
    assert _link(newer[0]).prev_mac == legacy[-1].hash
    assert _link(newer[0]).position == 4
    code, out, _ = run_audit("verify")
    assert code == 0, out
    assert "5 audit events verified" in out
    assert "3 events from before the chain was keyed" in out


def test_events_from_before_keying_need_a_keyed_event_or_an_anchor_behind_them(db):
    for i in range(3):
        _legacy_event(f"test.old{i}")
    assert "run `trellis audit anchor` once" in _failure()
    _anchor()
    assert run_audit("verify")[0] == 0


def test_an_unkeyed_event_after_keyed_ones_fails(db):
    _legacy_event("test.old")
    _trail(2)
    forged = _legacy_event("test.forged")
    err = _failure()
    assert f"id={forged.pk} " in err
    assert "its link to the previous event does not match" in err


def test_an_unkeyed_event_after_keyed_ones_written_before_the_sealer_fails(db):
    """Before the sealer, keyed events were chained as written; none may precede an unkeyed."""
    _legacy_event("test.old")
    head = AuditChainHead.objects.get()
    keyed = AuditEvent(occurred_at=timeutil.now(), action="test.keyed", prev_hash=head.last_hash)
    kid, key = parse_audit_keys(KEY_A1).current
    keyed.key_id = kid
    keyed.hash = seal(head.last_hash, chained_fields(keyed), key_id=kid, key=key)
    keyed.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(
        last_hash=keyed.hash, last_event_id=keyed.pk, last_position=2
    )
    forged = _legacy_event("test.forged")
    with override_settings(TRELLIS_AUDIT_KEYS=KEY_A1):
        err = _failure()
    assert f"id={forged.pk} " in err
    assert "carries no key id after keyed events" in err


def test_rewriting_events_from_before_keying_breaks_the_first_keyed_seal(db):
    legacy = [_legacy_event(f"test.old{i}") for i in range(3)]
    newer = _trail(2)
    prev = GENESIS_HASH
    for event in legacy:
        event.details = {"rewritten": True}
        digest = link_hash(prev, chained_fields(event))
        tamper(
            "UPDATE audit_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.details), prev, digest, event.pk],
        )
        prev = digest
    tamper("UPDATE audit_auditlink SET prev_mac = %s WHERE event_id = %s", [prev, newer[0].pk])
    err = _failure()
    assert f"id={newer[0].pk} " in err
    assert "its link in the chain no longer matches" in err


def test_verify_chain_reports_counts_per_key(db, settings):
    settings.TRELLIS_AUDIT_KEYS = KEY_A1
    _trail(2)
    result = verify_chain()
    assert result.ok
    assert result.by_key == {"a1": 2}
    assert result.latest_anchor is None


@pytest.mark.parametrize("batch", ["1", "2", "5000"])
def test_anchoring_and_verifying_do_not_depend_on_the_batch_size(db, batch):
    _trail(5)
    assert run_audit("anchor", "--batch-size", batch)[0] == 0
    _trail(3, start=5)
    assert run_audit("anchor", "--batch-size", batch)[0] == 0
    assert run_audit("verify", "--batch-size", batch)[0] == 0
