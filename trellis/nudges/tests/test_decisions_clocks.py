"""Several clocks evaluating the rules at the same moment on PostgreSQL: every decision
point is claimed by exactly one of them, and each nudge is queued once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.db import connection

from trellis.core.testing import need_postgres
from trellis.nudges import decisions
from trellis.nudges.models import DecisionPoint, Delivery, RuleKind
from trellis.nudges.tests.decision_helpers import enroll_persona, only_rule, prefer, seeded

NINE_NY = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
CLOCKS = 4


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_four_clocks_at_once_decide_each_point_once_on_postgresql(cast: Any) -> None:
    need_postgres()
    patients = ("patient_alex", "patient_blair", "patient_casey")
    for key in patients:
        enroll_persona(cast, key)
        prefer(cast[key], reminder_time=time(9, 0), reminder_channels=["in_app", "email"])
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    barrier = threading.Barrier(CLOCKS)
    results: list[decisions.Evaluation] = []
    errors: list[BaseException] = []

    def clock(seed: int) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(decisions.evaluate_rules(NINE_NY, draws=seeded(seed)))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=clock, args=(n,)) for n in range(CLOCKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == CLOCKS
    claimed = [d for r in results for d in r.decisions if d.claimed]
    assert len(claimed) == len(patients)
    assert len({d.decision_id for d in claimed}) == len(patients)
    assert DecisionPoint.objects.count() == len(patients)
    assert Delivery.objects.count() == 2 * len(patients)
    assert sorted(Delivery.objects.values_list("key", flat=True)) == sorted(
        f"decision:{d.decision_id}:{channel}" for d in claimed for channel in ("email", "in_app")
    )
