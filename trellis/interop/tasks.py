"""Background jobs of interop, run by `trellis worker` and scheduled by `trellis clock`.

- `run_export`: one Bulk Data export, enqueued when its kick-off commits; writes the
  NDJSON files and completes the job (trellis.interop.bulk.runner).
- `remove_expired_exports` (hourly): removes the files of exports past their
  `expires_at` (TRELLIS_EXPORT_KEEP_HOURS after they completed), fails exports whose
  worker died, and removes what failed or cancelled exports left.
- `remove_spent_credentials` (hourly): forgets expired access tokens and the `jti` of
  expired client assertions.
docs/fhir-bulk.md describes the whole path.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.interop.bulk import runner
from trellis.interop.smart import services as smart_services


@task
def run_export(job_id: str) -> dict[str, str]:
    """Write one export's files and complete it."""
    return {"job": job_id, "status": runner.run(job_id)}


@periodic(every=timedelta(hours=1))
@task
def remove_expired_exports() -> dict[str, int]:
    return runner.remove_expired(timeutil.now())


@periodic(every=timedelta(hours=1))
@task
def remove_spent_credentials() -> dict[str, int]:
    return smart_services.remove_spent_credentials(timeutil.now())
