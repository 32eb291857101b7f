"""`trellis fhir`: the connecting system's side of SMART Backend Services, for trying
Trellis's FHIR API from a terminal (docs/fhir-connect.md).

    trellis fhir keys --out DIR             make a key pair: DIR/private-key.pem, DIR/jwks.json
    trellis fhir token --client-id ID --key DIR/private-key.pem [--base URL] [--scope ...]
                                            sign a client assertion, ask the token endpoint,
                                            print the access token

The private key never leaves the machine it was made on; Trellis only ever sees the public
key set (jwks.json), which a clinic admin pastes into Connected systems.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import BaseCommand, CommandError, CommandParser
from jwt.algorithms import RSAAlgorithm

from trellis.interop.smart.services import ASSERTION_TYPE, GRANT_TYPE

KEY_ID = "key-1"


def make_key_pair(folder: Path) -> tuple[Path, dict[str, Any]]:
    """A new RSA key: the private half as PEM (readable by its owner only) and the public
    half as a JWK Set with `kid` key-1 for RS384."""
    folder.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path = folder / "private-key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwks = {"keys": [{**public, "kid": KEY_ID, "alg": "RS384", "use": "sig"}]}
    (folder / "jwks.json").write_text(json.dumps(jwks, indent=2) + "\n")
    return key_path, jwks


def client_assertion(key_pem: bytes, *, client_id: str, token_url: str, kid: str) -> str:
    """A client assertion valid for four minutes, as SMART Backend Services asks."""
    private = serialization.load_pem_private_key(key_pem, password=None)
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
    }
    alg = "RS384" if isinstance(private, rsa.RSAPrivateKey) else "ES384"
    return jwt.encode(claims, private, algorithm=alg, headers={"kid": kid})  # type: ignore[arg-type]


class Command(BaseCommand):
    help = "Make a key pair for a connected system, or get an access token as one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keys = sub.add_parser("keys", help="Make a key pair: private-key.pem and jwks.json.")
        keys.add_argument("--out", required=True, help="The folder to write both files to.")
        token = sub.add_parser("token", help="Print an access token for a registered client.")
        token.add_argument("--client-id", required=True)
        token.add_argument("--key", required=True, help="The client's private key (PEM).")
        token.add_argument("--kid", default=KEY_ID, help="The key's id in the JWK Set.")
        token.add_argument("--base", default="http://127.0.0.1:8000/fhir/R4")
        token.add_argument("--scope", default="system/*.read")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "keys":
            key_path, _ = make_key_pair(Path(options["out"]))
            self.stdout.write(f"Private key (keep it here): {key_path}")
            self.stdout.write(f"Public key set (paste it in Trellis): {key_path.parent}/jwks.json")
            return
        self.stdout.write(self.token(options))

    def token(self, options: dict[str, Any]) -> str:
        try:
            pem = Path(options["key"]).read_bytes()
        except OSError as problem:
            raise CommandError(f"Cannot read the key {options['key']}: {problem}") from None
        token_url = options["base"].rstrip("/") + "/auth/token"
        try:
            assertion = client_assertion(
                pem, client_id=options["client_id"], token_url=token_url, kid=options["kid"]
            )
        except (ValueError, TypeError) as problem:
            raise CommandError(f"{options['key']} is not a private key: {problem}") from None
        form = urllib.parse.urlencode(
            {
                "grant_type": GRANT_TYPE,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
                "scope": options["scope"],
            }
        ).encode()
        request = urllib.request.Request(token_url, data=form, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                body = json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            detail = refused.read().decode(errors="replace")
            raise CommandError(f"The token endpoint refused ({refused.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as problem:
            raise CommandError(f"Cannot reach {token_url}: {problem}") from None
        return str(body["access_token"])
