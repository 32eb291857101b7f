"""Fuzzing the JSON API against its own OpenAPI document, as the people who call it.

schemathesis reads /api/v1/openapi.json from the Django application in this process
(through Django's ASGI handler, no server) and sends generated requests, valid and invalid, as three
callers: a patient (signed-in session with its CSRF token), a therapist (signed in and
past two-step verification) and an integration's read-write API token. Every built-in
check is on: no server error, only documented status codes, content types and headers,
response bodies that match their schema, invalid data refused, valid data not refused,
authentication enforced, unsupported methods answered 405.

Ids in paths and bodies are drawn most of the time from the demo clinic's own records in
the caller's reach (so requests get past the 404 and exercise the operation), otherwise
generated. Used by tests/test_api_fuzz.py (a short run in every test run) and by
scripts/fuzz_api.py (the long run). See docs/api.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import schemathesis
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.utils.crypto import get_random_string
from schemathesis.engine import events, from_schema

from trellis.accounts.models import Membership, TokenScope, User
from trellis.accounts.services.tokens import create_api_token
from trellis.alerts.models import Alert
from trellis.appointments.models import Appointment
from trellis.care.models import Enrollment, SteppedCareChange
from trellis.core.testing import sign_in
from trellis.demo import personas
from trellis.demo.alerts import seed_supporter_workspace
from trellis.demo.journeys import seed_journeys
from trellis.demo.sessions import seed_availability
from trellis.programs.instruments import all_instruments
from trellis.programs.models import Step

SCHEMA_PATH = "/api/v1/openapi.json"
CALLERS = ("patient", "therapist", "token")
# How often an id in a path or body is one of the caller's real records.
KNOWN_ID_PROBABILITY = 0.8

# Operations that may refuse a request the document calls valid (422), and why: what makes
# the request acceptable is something JSON Schema cannot say. Everywhere else a valid
# request refused with 422 is a failure: the document would be missing a rule.
REFUSED_THOUGH_VALID = {
    "GET /api/v1/alerts": "`supporter` must be someone whose caseload the caller supervises",
    "GET /api/v1/audit/events": "dates are kept between 1900 and 2199",
    "POST /api/v1/invitations": "`team` must be a team of the inviting clinic",
    "POST /api/v1/alerts/{alert_id}/acknowledge": "a safety alert needs a note",
    "POST /api/v1/care/enrollments/{enrollment_id}/step-changes": (
        "the patient must not already have the level, nor a change waiting"
    ),
    "POST /api/v1/care/step-changes/{change_id}/confirm": "the suggestion must be undecided",
    "POST /api/v1/care/step-changes/{change_id}/decline": "the suggestion must be undecided",
    "POST /api/v1/journey/enrollments/{enrollment_id}/steps/{step_key}/rating": (
        "the step must be finished"
    ),
    "POST /api/v1/measures/enrollments/{enrollment_id}/responses": (
        "the answers must fit the questionnaire's items and options (its content file)"
    ),
    "POST /api/v1/sessions/enrollments/{enrollment_id}/appointments": (
        "the time must be one of the supporter's open times, still ahead"
    ),
    "POST /api/v1/sessions/appointments/{appointment_id}/cancel": "the session must be booked",
    "POST /api/v1/sessions/appointments/{appointment_id}/reschedule": (
        "the session must be booked, the new time open and still ahead"
    ),
}


@dataclass(frozen=True)
class Caller:
    """Who sends the requests, and the records worth aiming at."""

    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    known: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one run found."""

    caller: str
    requests: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.caller}: {self.requests} requests in {self.seconds:.1f} s, "
            f"{len(self.failures)} failures, {len(self.errors)} errors"
        )


def seed_clinic(now: datetime) -> personas.Cast:
    """The demo clinic with its patients part-way through programs, alerts and open times."""
    cast = personas.build()
    seed_journeys(cast, now, warn=lambda _message: None)
    seed_supporter_workspace(cast, now)
    seed_availability(cast, now)
    return cast


def _session_caller(
    name: str, user: User, *, verified: bool, known: dict[str, list[str]]
) -> Caller:
    """A signed-in browser session (as tests sign in) with its CSRF token."""
    session = sign_in(Client(), user, verified=verified).cookies[settings.SESSION_COOKIE_NAME]
    csrf = get_random_string(32)  # a CSRF secret: 32 letters and digits
    return Caller(
        name=name,
        cookies={settings.SESSION_COOKIE_NAME: session.value, settings.CSRF_COOKIE_NAME: csrf},
        headers={"X-CSRFToken": csrf},
        known=known,
    )


def _ids(rows: Any) -> list[str]:
    return [str(pk) for pk in rows.values_list("pk", flat=True)]


def _known_records(cast: personas.Cast, enrollments: Any) -> dict[str, list[str]]:
    """Ids of records reachable through `enrollments`, by the name they have in the API."""
    riverside = cast.clinics["riverside"]
    known = {
        "enrollment_id": _ids(enrollments),
        "step_key": sorted(
            set(
                Step.objects.filter(chapter__version__enrollments__in=enrollments).values_list(
                    "key", flat=True
                )
            )
        ),
        "alert_id": _ids(Alert.objects.filter(enrollment__in=enrollments)),
        "change_id": _ids(SteppedCareChange.objects.filter(enrollment__in=enrollments)),
        "appointment_id": _ids(Appointment.objects.filter(enrollment__in=enrollments)),
        "membership_id": _ids(Membership.objects.filter(organization=riverside)),
        "supporter_id": [str(cast["therapist_maria"].pk), str(cast["coach_jordan"].pk)],
        "team": [
            str(team.pk) for (clinic, _name), team in cast.teams.items() if clinic == "riverside"
        ],
        "organization": [str(riverside.pk)],
        "instrument": sorted(all_instruments()),
    }
    return {name: values for name, values in known.items() if values}


def prepare_callers(cast: personas.Cast) -> dict[str, Caller]:
    """The three callers, each with the records in their reach."""
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    own = Enrollment.objects.filter(patient=alex)
    caseload = Enrollment.objects.filter(care_team__supporter=maria).distinct()
    _token, secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="API fuzzing",
        scope=TokenScope.READ_WRITE,
        actor=cast["admin_avery"],
    )
    return {
        "patient": _session_caller(
            "patient", alex, verified=False, known=_known_records(cast, own)
        ),
        "therapist": _session_caller(
            "therapist", maria, verified=True, known=_known_records(cast, caseload)
        ),
        "token": Caller(
            name="token",
            headers={"Authorization": f"Bearer {secret}"},
            known=_known_records(
                cast, Enrollment.objects.filter(organization=cast.clinics["riverside"])
            ),
        ),
    }


class _CallerAuth:
    """Puts the caller's session cookie, CSRF token or bearer token on every request."""

    caller: Caller

    def get(self, case: Any, ctx: Any) -> Caller:
        return self.caller

    def set(self, case: Any, data: Caller, ctx: Any) -> None:
        case.cookies = {**(case.cookies or {}), **data.cookies}
        case.headers = {**(case.headers or {}), **data.headers}


class CountingApp:
    """The Django application (ASGI, in this process), counting the requests that reach it."""

    def __init__(self) -> None:
        self.app = ASGIHandler()
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def _config(
    caller: Caller, *, max_examples: int, seed: int, unexpected_methods: tuple[str, ...] | None
) -> Any:
    bound = {
        "path": (
            "enrollment_id",
            "step_key",
            "alert_id",
            "change_id",
            "appointment_id",
            "membership_id",
        ),
        "body": ("supporter_id", "team", "organization", "instrument"),
    }
    parameters = {
        f"{location}.{name}": {"dictionary": name, "probability": KNOWN_ID_PROBABILITY}
        for location, names in bound.items()
        for name in names
        if name in caller.known
    }
    coverage = {} if unexpected_methods is None else {"unexpected-methods": unexpected_methods}
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "workers": 1,
            # The same requests for the same seed: nothing carried over from earlier runs.
            "cache": {"enabled": False},
            "dictionaries": {name: {"values": values} for name, values in caller.known.items()},
            "parameters": parameters,
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "mode": "all",
                "with-security-parameters": False,
                "database": "none",
            },
            "checks": {"enabled": True},
            "phases": {"coverage": coverage},
            "operations": [
                {
                    "include-name": sorted(REFUSED_THOUGH_VALID),
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422"]
                        }
                    },
                }
            ],
        }
    )


@contextmanager
def _quiet_request_log() -> Iterator[None]:
    """Refused requests are the point of the run; keep Django from logging each one."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _describe(recorder: Any, case_id: str, info: Any) -> str:
    """One failure, with the request that showed it and what the API answered."""
    failure = info.failure
    message = " ".join(str(failure.message).split())
    answer = ""
    interaction = recorder.interactions.get(failure.case_id or case_id)
    if interaction is not None and interaction.response is not None:
        body = interaction.response.content or b""
        answer = f"\n    answered {interaction.response.status_code}: {body[:300]!r}"
    return f"{recorder.label}: {failure.title}: {message[:300]}\n    {info.code_sample}{answer}"


def fuzz(
    caller: Caller,
    *,
    max_examples: int,
    seed: int = 2026,
    unexpected_methods: tuple[str, ...] | None = None,
) -> Outcome:
    """Run every phase of schemathesis against the API as `caller`: examples, coverage
    (boundary values, each parameter missing or of the wrong type, methods the document does
    not list: all of them, or `unexpected_methods`), fuzzing (`max_examples` an operation)
    and stateful sequences."""
    app = CountingApp()
    config = _config(
        caller, max_examples=max_examples, seed=seed, unexpected_methods=unexpected_methods
    )
    schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, app, config=config)
    provider = type(f"{caller.name.title()}Auth", (_CallerAuth,), {"caller": caller})
    schema.auth(retry_on=[])(provider)
    outcome = Outcome(caller=caller.name)
    started = time.perf_counter()
    seen: set[tuple[str, str, str]] = set()
    with _quiet_request_log():
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        info = check.failure_info
                        if info is None:
                            continue
                        key = (event.recorder.label, check.name, info.failure.title)
                        if key not in seen:
                            seen.add(key)
                            outcome.failures.append(_describe(event.recorder, case_id, info))
            elif isinstance(event, events.NonFatalError):
                outcome.errors.append(f"{event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                outcome.errors.append(f"fatal: {event.exception!r}")
    outcome.seconds = time.perf_counter() - started
    outcome.requests = app.requests
    return outcome
