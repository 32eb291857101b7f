"""Sign-in throttling: guessing is held back by where it comes from, the answer never tells a
known address from an unknown one, and nobody can keep a person out of their own account."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.accounts.throttle import KNOWN_BROWSER_COOKIE
from trellis.audit.models import AuditEvent
from trellis.demo import personas

LOGIN = "/accounts/login/"
ATTACKER = "203.0.113.66"  # documentation addresses (RFC 5737): never real traffic
OWNER_HOME = "198.51.100.7"
UNKNOWN_EMAIL = "nobody.here@patients.example"
WRONG_GUESS = "a-wrong-guess-123"


def attempt(client: Client, email: str, password: str = WRONG_GUESS) -> Any:
    return client.post(LOGIN, {"email": email, "password": password})


def comparable(response: Any, email: str) -> tuple[int, str, str]:
    """Status, Retry-After and body, with the typed address and the per-request CSRF token
    taken out: what is left must not differ between a known and an unknown address."""
    body = response.content.decode().replace(email, "EMAIL")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    return response.status_code, response.get("Retry-After", ""), body


@pytest.mark.parametrize("tries", [5, 10, 50])
def test_known_and_unknown_addresses_get_the_same_answer_on_every_try(
    cast: Any, tries: int
) -> None:
    known = cast["patient_alex"].email
    answers: dict[str, list[tuple[int, str, str]]] = {}
    for email, address in ((known, "203.0.113.10"), (UNKNOWN_EMAIL, "203.0.113.11")):
        client = Client(REMOTE_ADDR=address)
        answers[email] = [comparable(attempt(client, email), email) for _ in range(tries)]
    assert answers[known] == answers[UNKNOWN_EMAIL]
    last_status = answers[known][-1][0]
    assert last_status == 429  # from the fifth try on, the source is held back


def test_the_fifth_wrong_password_holds_the_address_back_for_that_email(cast: Any) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    statuses = [attempt(client, cast["patient_alex"].email).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    right = attempt(client, cast["patient_alex"].email, personas.DEMO_PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Please wait before trying again" in right.content.decode()
    assert right["Retry-After"] == "900"
    started, refused = AuditEvent.objects.filter(action="auth.throttled").order_by("id")
    assert started.actor_id == refused.actor_id == cast["patient_alex"].pk
    email = cast["patient_alex"].email
    assert started.details == {"email": email, "stage": "password", "started": True}
    assert refused.details == {"email": email, "stage": "password"}


def test_an_attacker_cannot_keep_the_owner_out_from_another_address(cast: Any) -> None:
    alex = cast["patient_alex"]
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _attempt in range(30):
        attempt(attacker, alex.email)
    owner = Client(REMOTE_ADDR=OWNER_HOME)
    response = attempt(owner, alex.email, personas.DEMO_PASSWORD)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(alex.pk)


def test_twenty_different_emails_from_one_address_are_held_back(cast: Any) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    statuses = [attempt(client, f"guess{n}@patients.example").status_code for n in range(20)]
    assert statuses[:19] == [400] * 19
    assert statuses[19] == 429
    # A real address with its right password is not even checked from there now ...
    held = attempt(client, cast["patient_alex"].email, personas.DEMO_PASSWORD)
    assert held.status_code == 429
    assert "_auth_user_id" not in client.session
    # ... while everyone elsewhere signs in as usual.
    other = Client(REMOTE_ADDR=OWNER_HOME)
    assert attempt(other, cast["patient_alex"].email, personas.DEMO_PASSWORD).status_code == 302


def test_guesses_from_many_addresses_slow_the_account_but_not_the_owners_browser(
    cast: Any,
) -> None:
    alex = cast["patient_alex"]
    owner = Client(REMOTE_ADDR=OWNER_HOME)
    signed_in = attempt(owner, alex.email, personas.DEMO_PASSWORD)
    assert signed_in.status_code == 302
    assert signed_in.cookies[KNOWN_BROWSER_COOKIE].value
    owner.post(reverse("accounts:logout"))
    for n in range(10):  # two guesses each from five addresses: no single address is held back
        attempt(Client(REMOTE_ADDR=f"203.0.113.{100 + n // 2}"), alex.email)
    # A new browser is held back for this account, as it would be for an unknown address ...
    stranger = Client(REMOTE_ADDR="203.0.113.200")
    assert attempt(stranger, alex.email, personas.DEMO_PASSWORD).status_code == 429
    assert attempt(stranger, UNKNOWN_EMAIL).status_code == 400
    for n in range(10):
        attempt(Client(REMOTE_ADDR=f"203.0.113.{100 + n // 2}"), UNKNOWN_EMAIL)
    assert attempt(stranger, UNKNOWN_EMAIL).status_code == 429
    # ... but the browser Alex signed in with before lets her in at once.
    again = attempt(owner, alex.email, personas.DEMO_PASSWORD)
    assert again.status_code == 302
    assert owner.session["_auth_user_id"] == str(alex.pk)


def test_a_completed_sign_in_forgets_only_that_accounts_failures_from_here(cast: Any) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    for n in range(16):
        attempt(client, f"spray{n}@patients.example")
    for _attempt in range(3):
        attempt(client, cast["patient_alex"].email)
    assert attempt(client, cast["patient_alex"].email, personas.DEMO_PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    # The sixteen other failures still count: four more make twenty from here.
    statuses = [attempt(client, f"more{n}@patients.example").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_unknown_and_known_held_back_attempts_cost_no_password_hash(
    cast: Any, monkeypatch: Any
) -> None:
    from django.contrib.auth.hashers import get_hasher

    client = Client(REMOTE_ADDR=ATTACKER)
    for n in range(20):
        attempt(client, f"guess{n}@patients.example")
    hasher_class = type(get_hasher())
    calls: list[str] = []
    original = hasher_class.encode

    def counting(self: Any, password: str, salt: str) -> str:
        calls.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(hasher_class, "encode", counting)
    monkeypatch.setattr(hasher_class, "verify", lambda self, p, e: calls.append(p) or False)
    attempt(client, cast["patient_alex"].email, "known-account-guess")
    attempt(client, UNKNOWN_EMAIL, "unknown-account-guess")
    assert calls == []
