"""The demo clinic's connections and data rights (docs/fhir.md, docs/referrals.md,
docs/patient-record.md, docs/data-rights.md).

Riverside has its EHR connected as a backend client, "Riverside EHR", whose key pair is
made once on this machine (`var/demo-ehr/`: the private key stays there, Trellis holds only
the public key set) so anyone trying the demo can get a token with `trellis fhir token` and
read FHIR with curl. Referred patients are invited by the therapist Maria Lindqvist, and
one referral has come in from the EHR. Alex has asked for a correction of their record,
which waits for a clinician, and the EHR has read Alex's scores once, so Alex's accounting
of disclosures is not empty.

Running it again finds what is there and adds nothing, except keys: if the key files are
gone, new ones are made, and the client's public keys are replaced whenever they are not the
ones in `var/demo-ehr/jwks.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from trellis.audit.models import AuditEvent
from trellis.demo.personas import Cast
from trellis.interop.disclosures import FHIR_READ, note_disclosure
from trellis.interop.management.commands.fhir import make_key_pair
from trellis.interop.models import AmendmentRequest, BackendClient, Referral, ReferralSettings
from trellis.interop.record.amendments import request_amendment
from trellis.interop.referrals.incoming import IncomingReferral
from trellis.interop.referrals.services import receive_referrals, save_referral_settings
from trellis.interop.smart import scopes as smart_scopes
from trellis.interop.smart import services as smart_services
from trellis.interop.smart.types import readable_types
from trellis.programs.models import Program

EHR_NAME = "Riverside EHR"
EHR_IDENTIFIERS = "https://riverside.example/fhir/mrn"
SEEDED_CLINIC = "riverside"
REFERRED_TO = "moving-forward"  # the program referrals go to unless they name one


@dataclass(frozen=True)
class InteropSeeded:
    client_id: str
    key_path: Path


def key_folder() -> Path:
    return Path(settings.VAR_DIR) / "demo-ehr"


def seed_interop(cast: Cast, now: datetime) -> InteropSeeded:
    clinic = cast.clinics[SEEDED_CLINIC]
    admin, maria, alex = cast["admin_avery"], cast["therapist_maria"], cast["patient_alex"]
    folder = key_folder()
    key_path = folder / "private-key.pem"
    client = BackendClient.objects.filter(organization=clinic, name=EHR_NAME).first()
    jwks = _saved_key_set(folder) if key_path.exists() else None
    if jwks is None:
        key_path, jwks = make_key_pair(folder)
    if client is None:
        client = smart_services.register_client(
            organization=clinic,
            name=EHR_NAME,
            jwks=jwks,
            chosen_scopes=[smart_scopes.ALL_READ, smart_scopes.REFER],
            scope_choices=smart_scopes.allowed_choices(readable_types()),
            may_read_message_text=False,
            actor=admin,
        )
    elif client.jwks != jwks:
        # The key files on this machine are the truth: a database made elsewhere (or keys
        # made again) gets this machine's public keys.
        client = smart_services.replace_keys(client, jwks=jwks, actor=admin)
    (folder / "client-id.txt").write_text(client.client_id + "\n")

    if not ReferralSettings.objects.filter(
        organization=clinic, inviter__isnull=False, default_program__isnull=False
    ).exists():
        save_referral_settings(
            organization=clinic,
            inviter=maria,
            default_program=Program.objects.filter(slug=REFERRED_TO).first(),
            default_support_level="coached",
            actor=admin,
        )
    if not Referral.objects.filter(organization=clinic).exists():
        receive_referrals(
            organization=clinic,
            incoming=[
                IncomingReferral(
                    where="Bundle.entry[1]",
                    identifier_system=EHR_IDENTIFIERS,
                    identifier_value="RV-200431",
                    email="jordan.referred@example.net",
                    given_name="Jordan",
                    family_name="Okafor",
                    entry_index=1,
                )
            ],
            source="fhir",
            now=now - timedelta(days=1),
            client=client,
        )
    if not AmendmentRequest.objects.filter(patient=alex).exists():
        request_amendment(
            patient=alex,
            about="questionnaires",
            change=(
                "My PHQ-9 from the first week was answered on a very bad day after a "
                "night shift; please note that it does not reflect how that week went."
            ),
            now=now - timedelta(days=2),
        )
    if not AuditEvent.objects.filter(
        patient_id=alex.pk, action=FHIR_READ, details__client_id=client.client_id
    ).exists():
        note_disclosure(
            client=client,
            action=FHIR_READ,
            patient_ids=[alex.pk],
            details={"type": "Observation", "query": "patient=" + str(alex.pk), "count": 3},
        )
    return InteropSeeded(client_id=client.client_id, key_path=key_path)


def _saved_key_set(folder: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((folder / "jwks.json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
