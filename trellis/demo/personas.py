"""The named people of the simulated clinic, built through the real services.

The demo seeds them and the tests use them, so a test about `therapist_maria`
exercises the same account a person trying the demo signs in with. Building is
idempotent: running it twice finds the existing rows and creates nothing.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from django.db import transaction

from trellis.accounts import services
from trellis.accounts.models import Membership, Organization, Role, Team, User
from trellis.alerts.services import set_on_call_clinician

DEMO_PASSWORD = "trellis-demo-garden"  # noqa: S105  (public demo credential)


@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    full_name: str
    role: str
    team: str | None
    clinic: str = "riverside"


CLINICS = {
    "riverside": ("Riverside Community Clinic", "America/New_York"),
    "hillside": ("Hillside Wellbeing Service", "Europe/Helsinki"),
}

TEAMS = {"riverside": ["Anxiety team", "Mood team"], "hillside": ["Wellbeing team"]}

# Who takes each team's safety alerts for patients with no therapist.
ON_CALL = {
    ("riverside", "Anxiety team"): "therapist_maria",
    ("riverside", "Mood team"): "therapist_sam",
    ("hillside", "Wellbeing team"): "therapist_otto",
}

PERSONAS: tuple[Persona, ...] = (
    Persona("admin_avery", "avery.admin@riverside.example", "Avery Quinn", Role.ADMIN, None),
    Persona(
        "supervisor_ruth",
        "ruth.supervisor@riverside.example",
        "Ruth Okafor",
        Role.SUPERVISOR,
        "Anxiety team",
    ),
    Persona(
        "therapist_maria",
        "maria.therapist@riverside.example",
        "Maria Lindqvist",
        Role.THERAPIST,
        "Anxiety team",
    ),
    Persona(
        "therapist_sam",
        "sam.therapist@riverside.example",
        "Sam Whitaker",
        Role.THERAPIST,
        "Mood team",
    ),
    Persona(
        "coach_jordan", "jordan.coach@riverside.example", "Jordan Ellis", Role.COACH, "Anxiety team"
    ),
    Persona(
        "researcher_lee", "lee.researcher@riverside.example", "Lee Moreno", Role.RESEARCHER, None
    ),
    Persona("patient_alex", "alex@patients.example", "Alex Rivera", Role.PATIENT, "Anxiety team"),
    Persona(
        "patient_blair", "blair@patients.example", "Blair Nakamura", Role.PATIENT, "Anxiety team"
    ),
    Persona("patient_casey", "casey@patients.example", "Casey Brooks", Role.PATIENT, "Mood team"),
    Persona("patient_devon", "devon@patients.example", "Devon Achebe", Role.PATIENT, "Mood team"),
    Persona("patient_emery", "emery@patients.example", "Emery Walsh", Role.PATIENT, "Anxiety team"),
    Persona(
        "admin_hana", "hana.admin@hillside.example", "Hana Virtanen", Role.ADMIN, None, "hillside"
    ),
    Persona(
        "supervisor_mika",
        "mika.supervisor@hillside.example",
        "Mika Korhonen",
        Role.SUPERVISOR,
        "Wellbeing team",
        "hillside",
    ),
    Persona(
        "therapist_otto",
        "otto.therapist@hillside.example",
        "Otto Lehtinen",
        Role.THERAPIST,
        "Wellbeing team",
        "hillside",
    ),
    Persona(
        "patient_farah",
        "farah@patients.example",
        "Farah Haddad",
        Role.PATIENT,
        "Wellbeing team",
        "hillside",
    ),
)


def totp_key_hex(email: str) -> str:
    """A fixed TOTP secret per demo account, so the demo can print it. Demo only."""
    return hashlib.sha256(f"trellis-demo-totp:{email}".encode()).hexdigest()[:40]


def totp_key_base32(email: str) -> str:
    """The same secret as an authenticator app expects it."""
    return base64.b32encode(bytes.fromhex(totp_key_hex(email))).decode()


@dataclass
class Cast:
    """What `build` returns: every clinic, team and person by key."""

    clinics: dict[str, Organization] = field(default_factory=dict)
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)
    people: dict[str, User] = field(default_factory=dict)
    memberships: dict[str, Membership] = field(default_factory=dict)

    def __getitem__(self, key: str) -> User:
        return self.people[key]


@transaction.atomic
def build(*, with_mfa: bool = True) -> Cast:
    """Create (or find) both clinics, their teams and every persona."""
    cast = Cast()
    for key, (name, tz) in CLINICS.items():
        org = Organization.objects.filter(slug=key).first()
        if org is None:
            org = services.create_organization(name=name, slug=key, time_zone=tz, actor=None)
        cast.clinics[key] = org
        for team_name in TEAMS[key]:
            team = Team.objects.filter(organization=org, name=team_name).first()
            if team is None:
                team = services.create_team(organization=org, name=team_name, actor=None)
            cast.teams[(key, team_name)] = team
    for persona in PERSONAS:
        org = cast.clinics[persona.clinic]
        membership = (
            Membership.objects.select_related("user")
            .filter(user__email=persona.email, organization=org)
            .first()
        )
        if membership is None:
            membership = services.create_person(
                organization=org,
                email=persona.email,
                full_name=persona.full_name,
                role=persona.role,
                team=cast.teams[(persona.clinic, persona.team)] if persona.team else None,
                password=DEMO_PASSWORD,
                actor=None,
            )
            if with_mfa and persona.role != Role.PATIENT:
                services.enroll_totp(
                    user=membership.user,
                    actor=None,
                    key_hex=totp_key_hex(persona.email),
                    confirmed=True,
                )
        cast.people[persona.key] = membership.user
        cast.memberships[persona.key] = membership
    _set_on_call(cast)
    return cast


def _set_on_call(cast: Cast) -> None:
    """Give each demo team its on-call clinician, unless someone already chose one."""

    for (clinic, team_name), key in ON_CALL.items():
        team = cast.teams[(clinic, team_name)]
        if team.on_call_clinician_id is None:
            cast.teams[(clinic, team_name)] = set_on_call_clinician(
                team, clinician=cast[key], actor=None
            )


def persona(key: str) -> Persona:
    for p in PERSONAS:
        if p.key == key:
            return p
    raise KeyError(key)
