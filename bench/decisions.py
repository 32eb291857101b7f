"""How long the reminder rules take to decide, for 2,000 and 20,000 enrollments.

Creates a throw-away test database on the configured database (DATABASE_URL; PostgreSQL
for figures that mean anything), builds the demo personas, adds N enrollments in bulk, and
at 18:00 in the clinic's zone (when today's exercise rule is due for every one of them)
times:

- the due query of the exercise rule (one statement, whatever N);
- a whole `evaluate_rules(now)`: one decision point and one queued in-app nudge each;
- `record_proximal_outcomes` 24 hours later (one UPDATE).

    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python bench/decisions.py --sizes 2000,20000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,20000")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from trellis.demo import personas
        from trellis.nudges import decisions, rules
        from trellis.nudges.models import DecisionPoint, Delivery, RuleKind
        from trellis.nudges.tests.decision_helpers import only_rule, seeded
        from trellis.workspace.tests.test_caseload import add_patients

        cast = personas.build()
        riverside = cast.clinics["riverside"]
        only_rule(riverside, RuleKind.EXERCISE_TODAY)
        print(f"database: {connection.vendor}")
        have = 0
        for day, size in enumerate(int(s) for s in args.sizes.split(",")):
            add_patients(cast, size - have)
            have = size
            DecisionPoint.objects.all().delete()
            Delivery.objects.all().delete()
            now = datetime(2026, 3, 3, 23, 0, tzinfo=UTC) + timedelta(days=day)  # 18:00 EST
            [(rule, overridden)] = rules.rules_in_force(kinds=[RuleKind.EXERCISE_TODAY])
            zones = rules.zones_in_use()
            started = time.perf_counter()
            found = rules.due(rule, now, zones=zones, overridden=overridden)
            due_s = time.perf_counter() - started
            reset_queries()
            started = time.perf_counter()
            result = decisions.evaluate_rules(now, draws=seeded())
            evaluate_s = time.perf_counter() - started
            made = len(result.decisions)
            started = time.perf_counter()
            recorded = decisions.record_proximal_outcomes(now + timedelta(hours=24))
            outcome_s = time.perf_counter() - started
            print(
                f"{size:>6} enrollments: due query {due_s * 1000:.0f} ms ({len(found)} due); "
                f"evaluate_rules {evaluate_s:.1f} s for {made} decisions "
                f"({made / evaluate_s:.0f} decisions/s, "
                f"{Delivery.objects.count()} deliveries queued); "
                f"proximal outcomes {outcome_s * 1000:.0f} ms for {recorded}"
            )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
