"""The number of SQL statements each patient write costs, through the test client with the
real middleware (session, user, MFA state, access check, the write, its event and its audit
row). It does not depend on the machine, so it is pinned here; the speed itself is measured
by bench/patient_write.py and bench/profile_write.py (docs/performance.md). A change that
adds a statement to every patient write fails here and must say why.

With the session in the database: a check-in is the session, the user, the patient's own
enrollment, then one statement on PostgreSQL (`core.rows.ClaimedInserts`: the idempotency
claim and, only if it went in, the check-in, its event, the audit row and its place in the
sealer's queue) and elsewhere five INSERTs. A PHQ-9 is the session, the user, the
enrollment, one read of what it answers (the open questionnaire and the weekly ones it
settles), then one statement on PostgreSQL: the response, inserted only if its client id
is new and what was read still holds, its safety events pointed at it, the questionnaires
it answers closed, its event, the audit row and its place in the sealer's queue
(`core.rows.ClaimedInserts` with two `then` statements); elsewhere six. With Redis the
session comes from the cache: one statement fewer. On PostgreSQL each is a prepared
statement (`core.rows`), planned once per connection."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex, publish_test_pack
from trellis.measures.models import AssignmentStatus, Occasion, QuestionnaireAssignment

# With the session read from the database: (on PostgreSQL, elsewhere).
MOOD_STATEMENTS = (4, 8)
PHQ9_STATEMENTS = (5, 10)


def expected(statements: tuple[int, int], session_reads: int) -> int:
    """The statements of a write here: one fewer with the session cached."""
    on_postgresql, elsewhere = statements
    return (on_postgresql if connection.vendor == "postgresql" else elsewhere) - (1 - session_reads)


@pytest.fixture
def enrollment(cast: Any) -> Enrollment:
    publish_test_pack()
    return enroll_alex(cast, now=timeutil.now() - timedelta(minutes=5))


def post(client: Any, path: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    """One write, with the statements it sent."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def count_second(client: Any, path: str, make_body: Any) -> tuple[int, str]:
    """The statements of the second of two writes (the first warms per-process caches)."""
    post(client, path, make_body())
    count, sql = post(client, path, make_body())
    return count, "\n".join(sql)


# With Redis the session is read from the cache (settings.SESSION_ENGINE), not the database.
ENGINES = pytest.mark.parametrize(
    ("engine", "session_reads"),
    [("trellis.accounts.sessions.db", 1), ("trellis.accounts.sessions.cached_db", 0)],
    ids=["session-in-database", "session-cached"],
)


@ENGINES
def test_a_mood_check_in_costs_a_fixed_number_of_statements(
    client_for: Any, enrollment: Enrollment, settings: Any, engine: str, session_reads: int
) -> None:
    settings.SESSION_ENGINE = engine
    alex = client_for("patient_alex")
    path = f"/api/v1/journey/enrollments/{enrollment.pk}/moods"
    count, sql = count_second(alex, path, lambda: {"client_id": str(uuid.uuid4()), "score": 6})
    assert count == expected(MOOD_STATEMENTS, session_reads), sql


@ENGINES
def test_a_phq9_submission_costs_a_fixed_number_of_statements(
    client_for: Any, enrollment: Enrollment, settings: Any, engine: str, session_reads: int
) -> None:
    settings.SESSION_ENGINE = engine
    now = timeutil.now()
    QuestionnaireAssignment.objects.bulk_create(
        QuestionnaireAssignment(
            enrollment=enrollment,
            instrument="PHQ-9",
            occasion=Occasion.PROGRAM_STEP,
            sequence=100 + n,
            due_from=now - timedelta(minutes=1),
            overdue_after=now + timedelta(days=1),
            closes_at=now + timedelta(days=2),
            status=AssignmentStatus.PENDING,
        )
        for n in range(2)
    )
    alex = client_for("patient_alex")
    path = f"/api/v1/measures/enrollments/{enrollment.pk}/responses"
    answers = {f"q{i}": 1 for i in range(1, 9)} | {"q9": 0}
    count, sql = count_second(
        alex,
        path,
        lambda: {"client_id": str(uuid.uuid4()), "instrument": "PHQ-9", "answers": answers},
    )
    assert count == expected(PHQ9_STATEMENTS, session_reads), sql
