"""`trellis fhir keys` and `trellis fhir token`: the connecting system's side, run against a
live Trellis. The key pair it makes is registered as a clinic admin would, and the token it
prints opens the FHIR API."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from trellis.interop.smart import scopes as smart_scopes
from trellis.interop.smart import services
from trellis.interop.smart.types import readable_types

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("fhir", *args, stdout=out)
    return out.getvalue()


def test_keys_then_token_open_the_fhir_api(cast: Any, live_server: Any, tmp_path: Path) -> None:
    run("keys", "--out", str(tmp_path))
    key = tmp_path / "private-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    jwks = json.loads((tmp_path / "jwks.json").read_text())
    assert [k["kid"] for k in jwks["keys"]] == ["key-1"]
    assert "d" not in jwks["keys"][0]  # only the public half leaves the folder
    client = services.register_client(
        organization=cast.clinics["riverside"],
        name="Riverside EHR",
        jwks=jwks,
        chosen_scopes=[smart_scopes.ALL_READ],
        scope_choices=smart_scopes.allowed_choices(readable_types()),
        may_read_message_text=False,
        actor=cast["admin_avery"],
    )
    base = live_server.url + "/fhir/R4"
    token = run("token", "--base", base, "--client-id", client.client_id, "--key", str(key))
    answer = Client().get(
        "/fhir/R4/Patient", HTTP_AUTHORIZATION=f"Bearer {token.strip()}", SERVER_NAME="testserver"
    )
    assert answer.status_code == 200
    assert answer.json()["resourceType"] == "Bundle"


def test_token_refused_is_a_clear_error(cast: Any, live_server: Any, tmp_path: Path) -> None:
    run("keys", "--out", str(tmp_path))
    base = live_server.url + "/fhir/R4"
    with pytest.raises(CommandError, match=r"refused \(401\).*invalid_client"):
        run(
            "token",
            "--base",
            base,
            "--client-id",
            "nobody",
            "--key",
            str(tmp_path / "private-key.pem"),
        )


def test_token_without_a_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read the key"):
        run("token", "--client-id", "x", "--key", str(tmp_path / "missing.pem"))
    (tmp_path / "not-a-key.pem").write_text("hello")
    with pytest.raises(CommandError, match="is not a private key"):
        run("token", "--client-id", "x", "--key", str(tmp_path / "not-a-key.pem"))
