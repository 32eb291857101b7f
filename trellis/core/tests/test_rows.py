"""core.rows: the SELECT written from a model's metadata answers as the ORM's filter does."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from trellis.accounts.models import Membership, User
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.core.rows import (
    columns,
    constants,
    insert_row,
    insert_statement,
    rows_from,
    rows_where,
    tagged_rows_from,
)
from trellis.core.testing import need_postgres
from trellis.engagement.models import EngagementEvent
from trellis.journey.models import MoodCheckIn
from trellis.journey.tests.factories import enroll_alex, publish_test_pack


def test_rows_where_reads_what_filter_reads_with_fields_converted(cast: Any) -> None:
    alex = cast["patient_alex"]
    alex.phone = "+358 40 123 4567"
    alex.save(update_fields=["phone"])

    [row] = rows_where(User, id=alex.pk)

    assert row == alex
    assert row.phone == "+358 40 123 4567"  # decrypted, as through the ORM
    assert row.email == alex.email


def test_rows_where_takes_foreign_keys_by_id_and_orders_as_asked(cast: Any) -> None:
    maria = cast["therapist_maria"]

    assert rows_where(Membership, user_id=maria.pk, order_by="-created_at") == list(
        Membership.objects.filter(user=maria).order_by("-created_at")
    )
    assert rows_where(User, is_active=True, order_by="email") == list(
        User.objects.filter(is_active=True).order_by("email")
    )


def test_rows_where_finds_nothing_for_an_unknown_key(cast: Any) -> None:
    assert rows_where(User, id=uuid.uuid4()) == []


@pytest.fixture
def enrollment(cast: Any) -> Enrollment:
    publish_test_pack()
    return enroll_alex(cast, now=timeutil.now() - timedelta(minutes=5))


def test_insert_row_stores_a_row_as_given_with_encrypted_fields_encrypted(
    enrollment: Enrollment,
) -> None:
    dated = timeutil.now() - timedelta(days=3)
    mood = MoodCheckIn(
        enrollment=enrollment, score=4, note="a private note", client_id=uuid.uuid4()
    )
    mood.created_at = mood.updated_at = dated

    insert_row(mood, as_given=True)

    stored = MoodCheckIn.objects.get(pk=mood.pk)
    assert (stored.score, stored.note, stored.created_at) == (4, "a private note", dated)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT note FROM journey_moodcheckin WHERE id = %s",
            [MoodCheckIn._meta.pk.get_db_prep_value(mood.pk, connection)],  # type: ignore[union-attr]
        )
        (column,) = cursor.fetchone()
    assert column.startswith("enc:v1:")
    assert not mood._state.adding


def test_insert_row_fills_automatic_timestamps_and_takes_the_databases_key(
    enrollment: Enrollment,
) -> None:
    mood = MoodCheckIn(enrollment=enrollment, score=7, client_id=uuid.uuid4())
    insert_row(mood)
    assert mood.created_at is not None
    assert MoodCheckIn.objects.get(pk=mood.pk).created_at == mood.created_at

    first = EngagementEvent(enrollment=enrollment, occurred_at=timeutil.now(), type="login")
    second = EngagementEvent(enrollment=enrollment, occurred_at=timeutil.now(), type="login")
    insert_row(first)
    insert_row(second)
    assert first.pk is not None and second.pk is not None and second.pk > first.pk
    assert EngagementEvent.objects.get(pk=second.pk).type == "login"


def test_rows_where_gives_every_field_as_the_orm_does_and_a_stored_instance(
    enrollment: Enrollment,
) -> None:
    EngagementEvent.objects.create(
        enrollment=enrollment, occurred_at=timeutil.now(), type="login", value="x"
    )
    for model, equals in (
        (Enrollment, {"id": enrollment.pk}),
        (EngagementEvent, {"enrollment_id": enrollment.pk}),
    ):
        [row] = rows_where(model, **equals)  # type: ignore[type-var]
        [orm] = model.objects.filter(**equals)  # type: ignore[attr-defined]
        for field in model._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(orm, field.attname), field.name
        assert not row._state.adding and row._state.db == "default"


def test_rows_where_works_out_each_statement_once_and_the_second_read_agrees(
    cast: Any,
) -> None:
    alex = cast["patient_alex"]
    first = rows_where(User, id=alex.pk, is_active=True)
    alex.full_name = "Alex Renamed"
    alex.save(update_fields=["full_name"])
    second = rows_where(User, id=alex.pk, is_active=True)
    assert [u.full_name for u in first + second] == [first[0].full_name, "Alex Renamed"]


def _check_ins(enrollment: Enrollment, *scores: int) -> str:
    """Check-ins with these scores (each noted "note <score>"); their table's quoted name."""
    for score in scores:
        MoodCheckIn.objects.create(
            enrollment=enrollment, score=score, note=f"note {score}", client_id=uuid.uuid4()
        )
    return str(connection.ops.quote_name(MoodCheckIn._meta.db_table))


def test_rows_from_makes_the_rows_of_a_written_select_as_the_orm_would(
    enrollment: Enrollment,
) -> None:
    table = _check_ins(enrollment, 3, 8)
    sql = f"SELECT {columns(MoodCheckIn)} FROM {table} WHERE score > %s ORDER BY score"  # noqa: S608

    rows = rows_from(MoodCheckIn, sql, [2])

    assert [(r.score, r.note) for r in rows] == [(3, "note 3"), (8, "note 8")]  # decrypted
    assert rows == list(MoodCheckIn.objects.filter(score__gt=2).order_by("score"))


def test_columns_qualified_name_their_table(enrollment: Enrollment) -> None:
    table = connection.ops.quote_name(MoodCheckIn._meta.db_table)
    plain, qualified = columns(MoodCheckIn), columns(MoodCheckIn, qualified=True)
    assert qualified == ", ".join(f"{table}.{name}" for name in plain.split(", "))


def test_tagged_rows_from_gives_each_rows_value_with_its_instance(
    enrollment: Enrollment,
) -> None:
    table = _check_ins(enrollment, 3, 8)
    sql = (
        f"SELECT CASE WHEN score > %s THEN 1 ELSE 0 END, {columns(MoodCheckIn)} "  # noqa: S608
        f"FROM {table} ORDER BY score"
    )

    tagged = tagged_rows_from(MoodCheckIn, sql, [5])

    assert [(tag, row.score, row.note) for tag, row in tagged] == [
        (0, 3, "note 3"),
        (1, 8, "note 8"),
    ]


def test_constants_quote_the_codes_own_words_and_refuse_anything_else() -> None:
    assert constants(["pending", "overdue"]) == "'pending', 'overdue'"
    for refused in (["pending'; DROP TABLE x; --"], ["Pending"], [], ["a b"]):
        with pytest.raises(AssertionError):
            constants(refused)


def test_an_insert_with_a_condition_goes_in_only_when_it_holds(enrollment: Enrollment) -> None:
    for holds in (False, True):
        row = MoodCheckIn(enrollment=enrollment, score=4, note="kept", client_id=uuid.uuid4())
        sql, params = insert_statement(row, where="%s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, holds])
        assert MoodCheckIn.objects.filter(pk=row.pk).exists() is holds
    assert MoodCheckIn.objects.get().note == "kept"  # encrypted on the way in, as save() does


def test_on_postgresql_the_statements_here_are_prepared_once_per_connection(cast: Any) -> None:
    need_postgres()
    alex = cast["patient_alex"]

    def prepared() -> list[int]:
        """How often each prepared statement of this shape has run on this connection."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
            )
            return [
                n
                for text, n in cursor.fetchall()
                if '"accounts_user"' in text and '"full_name" = $2 ORDER BY "email" DESC' in text
            ]

    before = sum(prepared())
    for _ in range(3):
        found = rows_where(User, id=alex.pk, full_name=alex.full_name, order_by="-email")
        assert [u.email for u in found] == [alex.email]
    runs = prepared()
    assert len(runs) == 1, runs  # one statement, prepared once
    assert runs[0] == before + 3  # and run each time


@pytest.mark.parametrize(("setting", "threshold"), [(None, "5"), ("0", "None"), ("1", "5")])
def test_preparing_is_on_for_postgresql_unless_turned_off(
    setting: str | None, threshold: str
) -> None:
    """TRELLIS_DB_PREPARE (docs/configuration.md): read in a fresh interpreter, as a server
    starting with it would."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRELLIS_DB_PREPARE", "DATABASE_URL")}
    env |= {"TRELLIS_ENV": "test", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    if setting is not None:
        env["TRELLIS_DB_PREPARE"] = setting
    code = (
        "import trellis.settings as s; "
        "print(s.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    assert out.stdout.strip().splitlines()[-1] == threshold
