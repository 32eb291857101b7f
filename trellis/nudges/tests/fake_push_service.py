"""A push service on a local port that speaks the Web Push protocol, for tests.

What a browser's push service (Chrome's, Firefox's, Apple's) does with a message from an
application server, checked the way they check it:

- RFC 8030: a message is a POST to the subscription's endpoint with a `TTL` header; the
  service answers 201 Created with a `Location` for the message. An endpoint it does not
  know is 404; one that has gone away is 410 Gone; too many messages is 429 with
  `Retry-After`; a body over 4096 bytes is 413.
- RFC 8291: the body is encrypted (`Content-Encoding: aes128gcm`) to the device's P-256
  key and auth secret. The fake holds the device's private key, as the browser does, and
  decrypts every message so a test can read exactly what the lock screen would show.
- RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`. The JWT is verified with that
  key (ES256), its `aud` must be this service's origin, `exp` in the future and at most
  24 hours away, `sub` a mailto: or https: contact; with none of that it is 401. A device
  subscribed with an applicationServerKey accepts only messages signed by that key (403).

A device is made with `new_device()`, as the browser's PushManager.subscribe() would: its
`subscription()` is the JSON the page hands to Trellis. `device.answer` makes it answer
410, 429 or 503 instead of 201.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Device:
    """A browser's subscription at this push service."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str = ""  # base64url; blank: any VAPID key is accepted
    answer: int = 201  # 201, or the failure to answer with: 404, 410, 429, 500, 503
    retry_after: str = "30"

    @property
    def p256dh(self) -> str:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(public)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription(self) -> dict[str, Any]:
        """PushSubscription.toJSON(), as the page sends it."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }


@dataclass
class PushMessage:
    """One message the service accepted, decrypted as the device would."""

    device_id: str
    headers: dict[str, str]
    vapid_key: str
    claims: dict[str, Any]
    body: bytes
    plaintext: bytes

    @property
    def ttl(self) -> int:
        return int(self.headers["ttl"])

    def json(self) -> Any:
        return json.loads(self.plaintext)


@dataclass
class Attempt:
    """Every request the service answered, accepted or not."""

    device_id: str
    status: int
    reason: str = ""


@dataclass
class FakePushService:
    host: str = "127.0.0.1"
    port: int = 0
    devices: dict[str, Device] = field(default_factory=dict)
    messages: list[PushMessage] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def new_device(self, application_server_key: str = "") -> Device:
        """A new subscription, as PushManager.subscribe() makes one in the browser."""
        device_id = b64url(os.urandom(12))
        device = Device(
            id=device_id,
            endpoint=f"{self.origin}/push/{device_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
            application_server_key=application_server_key,
        )
        with self.lock:
            self.devices[device_id] = device
        return device

    def messages_for(self, device: Device) -> list[PushMessage]:
        with self.lock:
            return [m for m in self.messages if m.device_id == device.id]

    # The protocol --------------------------------------------------------------------

    def receive(self, device_id: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """Answer one POST: (status, reason); a 201 records the message."""
        with self.lock:
            device = self.devices.get(device_id)
        if device is None:
            return self._log(device_id, 404, "no such subscription")
        try:
            key, claims = self._check_vapid(headers.get("authorization", ""), device)
            self._check_message(headers, body)
        except Refused as refused:
            return self._log(device_id, refused.status, refused.reason)
        if device.answer != 201:
            return self._log(device_id, device.answer, "told to refuse")
        try:
            plaintext = http_ece.decrypt(
                body,
                private_key=device.private_key,
                auth_secret=device.auth_secret,
                version="aes128gcm",
            )
        except Exception as error:  # a browser drops what it cannot decrypt
            return self._log(device_id, 400, f"cannot decrypt: {error}")
        with self.lock:
            self.messages.append(
                PushMessage(device_id, dict(headers), key, claims, body, plaintext)
            )
            self.attempts.append(Attempt(device_id, 201))
            number = len(self.messages)
        return 201, f"/message/{number}"

    def _log(self, device_id: str, status: int, reason: str) -> tuple[int, str]:
        with self.lock:
            self.attempts.append(Attempt(device_id, status, reason))
        return status, reason

    def _check_message(self, headers: dict[str, str], body: bytes) -> None:
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            raise Refused(400, "a TTL header (seconds) is required")
        if len(body) > MAX_BODY:
            raise Refused(413, "payload too large")
        if body and headers.get("content-encoding", "").lower() != "aes128gcm":
            raise Refused(415, "the body must be aes128gcm")

    def _check_vapid(self, authorization: str, device: Device) -> tuple[str, dict[str, Any]]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, "Authorization: vapid t=..., k=... is required")
        parts: dict[str, str] = {}
        for item in rest.split(","):
            name, _, value = item.strip().partition("=")
            parts[name.strip()] = value.strip()
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        except (ValueError, binascii.Error):
            raise Refused(401, "k is not a P-256 public key") from None
        if device.application_server_key and unb64url(key) != unb64url(
            device.application_server_key
        ):
            raise Refused(403, "signed with a key this subscription was not made with")
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(unb64url(header_b64))
            claims = json.loads(unb64url(claims_b64))
            signature = unb64url(signature_b64)
        except (ValueError, binascii.Error):
            raise Refused(401, "t is not a JWT") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise Refused(401, "the JWT must be ES256")
        try:
            public.verify(
                encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                ),
                f"{header_b64}.{claims_b64}".encode(),
                ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            raise Refused(401, "the JWT's signature does not verify") from None
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(401, f"aud must be {self.origin}")
        expires = claims.get("exp")
        if not isinstance(expires, int) or not now < expires <= now + 24 * 3600:
            raise Refused(401, "exp must be within the next 24 hours")
        subject = str(claims.get("sub", ""))
        if not subject.startswith(("mailto:", "https:")):
            raise Refused(401, "sub must be a mailto: or https: contact")
        return key, claims


class _Handler(BaseHTTPRequestHandler):
    service: FakePushService

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not self.path.startswith("/push/"):
            self._answer(404, "not a push endpoint")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, detail = self.service.receive(self.path[len("/push/") :], headers, body)
        if status == 201:
            self.send_response(201)
            self.send_header("Location", self.service.origin + detail)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        extra = {}
        if status == 429:
            device = self.service.devices.get(self.path[len("/push/") :])
            extra["Retry-After"] = device.retry_after if device else "30"
        self._answer(status, detail, extra)

    def _answer(self, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
        data = json.dumps({"code": status, "message": detail}).encode()
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fake_push_service() -> Iterator[FakePushService]:
    """A push service on a free local port for the length of the block."""
    service = FakePushService()
    handler = type("Handler", (_Handler,), {"service": service})
    server = ThreadingHTTPServer((service.host, 0), handler)
    server.daemon_threads = True
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
