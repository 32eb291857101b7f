"""Load shedding against a real server: with the process at its limit of requests in flight,
the next request is answered 503 with Retry-After at once, health endpoints still answer,
and service resumes as soon as a request finishes."""

from __future__ import annotations

import select
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest

from trellis.core.shedding import InFlight


def _get(url: str, timeout: float = 5) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), time.monotonic() - started


def _held_request(base: str) -> socket.socket:
    """A form post whose body is still on its way: the server holds it in flight (CSRF
    protection waits to read the form's token) until the body arrives."""
    url = urlparse(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=5)
    sock.sendall(
        b"POST /accounts/login/ HTTP/1.1\r\n"
        b"Host: localhost\r\n"
        b"Cookie: csrftoken=abcdefghijklmnopqrstuvwxyzABCDEF\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 11\r\n"
        b"Connection: close\r\n\r\n"
    )
    return sock


def _held_in_flight(base: str) -> socket.socket:
    """A held request the server took in. The live server is shared by the session's
    tests: a request of an earlier one still finishing when this one arrives makes the
    server shed this one at once (answered, so not held); then it is sent again."""
    deadline = time.monotonic() + 5
    while True:
        held = _held_request(base)
        answered, _, _ = select.select([held], [], [], 0.2)
        if not answered:
            return held
        held.close()
        assert time.monotonic() < deadline, "the server never held the request"


def test_in_flight_counts_up_to_the_limit_and_frees_a_place():
    in_flight = InFlight()
    assert in_flight.enter(2) and in_flight.enter(2)
    assert not in_flight.enter(2)
    in_flight.leave()
    assert in_flight.enter(2)


def test_a_busy_process_sheds_at_once_with_retry_after_and_recovers(
    live_server, transactional_db, settings
):
    settings.TRELLIS_MAX_IN_FLIGHT = 1
    page = f"{live_server.url}/accounts/login/"
    assert _get(page, timeout=60)[0] == 200  # the first answer loads the templates
    held = _held_in_flight(live_server.url)
    try:
        deadline = time.monotonic() + 5
        status, headers, took = _get(page)
        while status != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
            status, headers, took = _get(page)
        assert status == 503
        assert headers["Retry-After"] == "1"
        assert took < 1.0  # answered at once, not queued
        for health in ("/livez", "/readyz", "/healthz"):  # never shed
            assert _get(f"{live_server.url}{health}")[0] == 200
        held.sendall(b"email=a%40b")
        assert held.recv(64).startswith(b"HTTP/1.1 403")  # the held form (no CSRF token)
    finally:
        held.close()
    deadline = time.monotonic() + 5
    status = _get(page)[0]
    while status == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = _get(page)[0]
    assert status == 200


@pytest.mark.parametrize("limit", [0])
def test_no_limit_never_sheds(live_server, transactional_db, settings, limit):
    settings.TRELLIS_MAX_IN_FLIGHT = limit
    held = _held_request(live_server.url)
    try:
        time.sleep(0.2)
        assert _get(f"{live_server.url}/accounts/login/", timeout=60)[0] == 200
    finally:
        held.close()
