"""Background jobs of interop, run by `trellis worker` and scheduled by `trellis clock`.

- `run_export`: one Bulk Data export, enqueued when its kick-off commits; writes the
  NDJSON files and completes the job (trellis.interop.bulk.runner).
- `remove_expired_exports` (hourly): removes the files of exports past their
  `expires_at` (TRELLIS_EXPORT_KEEP_HOURS after they completed), fails exports whose
  worker died, and removes what failed or cancelled exports left.
- `remove_spent_credentials` (hourly): forgets expired access tokens and the `jti` of
  expired client assertions.
- `link_referred_patients` (every 10 minutes): points each referral's identifier at the
  account that accepted its invitation (docs/referrals.md).
- `apply_retention` (nightly): each clinic erases the patients whose records are past its
  retention time (docs/data-rights.md).
docs/fhir-bulk.md describes the whole path.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.interop import retention
from trellis.interop.bulk import runner
from trellis.interop.referrals.services import link_accepted_identifiers
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


@periodic(every=timedelta(minutes=10))
@task
def link_referred_patients() -> dict[str, int]:
    return {"linked": link_accepted_identifiers()}


@periodic(every=timedelta(days=1))
@task
def apply_retention() -> dict[str, int]:
    """Every night: each clinic erases the patients whose records are past its retention."""
    return retention.apply_retention_everywhere()
