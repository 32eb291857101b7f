"""A local SMS provider for tests: an HTTP server on a free port that speaks the shape of a
widely used provider's REST API (Twilio's 2010-04-01 Messages resource).

What it does, as the real one does:
- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with the form fields `To`, `From`,
  `Body` and `StatusCallback`, authenticated with HTTP basic auth (account sid and auth
  token); answers 201 with a JSON message resource (`sid` "SM" + 32 hex, `status` "queued").
- Errors are JSON bodies `{"code", "message", "more_info", "status"}` with the provider's
  codes: 20003 (authentication, 401), 20404 (no such resource, 404), 21604 (no `To`), 21602
  (no `Body`), 21211 (an invalid `To` number, 400), 21610 (the recipient has unsubscribed,
  400), 20429 (too many requests, 429 with `Retry-After`), and 500 for a server error.
- `GET .../Messages/{sid}.json` fetches a message.
- Status callbacks and inbound texts are form-encoded POSTs to Trellis, signed in the
  `X-Twilio-Signature` header: base64 of HMAC-SHA1, keyed with the auth token, over the full
  URL followed by every POST parameter's name and value, sorted by name.

For tests it records every request it answered (`requests`) and every message it accepted
(`messages`), can be told to fail the next N requests (`fail_next`), to treat numbers as
invalid or unsubscribed, sends status callbacks (`send_status`) and delivers inbound texts
(`deliver_inbound`), and keeps the TwiML answers Trellis gave to inbound texts (`replies`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.etree import ElementTree

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/([^/]+)/Messages\.json$")
_ONE_MESSAGE = re.compile(rf"^/{API_VERSION}/Accounts/([^/]+)/Messages/([^/]+)\.json$")

ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    20500: (500, "Internal Server Error"),
}


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The provider's request signature: HMAC-SHA1 over the URL and the sorted parameters."""
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class SentMessage:
    """One message the provider accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str
    status: str = "queued"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Received:
    """One request the provider answered: method, path, form fields, status it gave."""

    method: str
    path: str
    form: dict[str, str]
    status: int
    authorized: bool


@dataclass
class Failure:
    status: int
    code: int | None
    retry_after: int | None


class FakeSmsProvider:
    """The fake provider; use as a context manager (`with FakeSmsProvider() as sms:`)."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        number: str = "+15005550006",
    ) -> None:
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.number = number
        self.messages: list[SentMessage] = []
        self.requests: list[Received] = []
        self.replies: list[tuple[int, list[str]]] = []
        self.invalid_numbers: set[str] = set()
        self.unsubscribed: set[str] = set()
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Running -----------------------------------------------------------------------------

    def start(self) -> FakeSmsProvider:
        provider = self

        class Handler(_Handler):
            fake = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSmsProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the fake provider is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings(self) -> dict[str, Any]:
        """The TRELLIS_SMS setting that points Trellis at this provider."""
        return {
            "BASE_URL": self.base_url,
            "ACCOUNT": self.account_sid,
            "TOKEN": self.auth_token,
            "FROM": self.number,
            "TIMEOUT": 5,
        }

    # Steering ----------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 429, code: int | None = None, retry_after: int = 1
    ) -> None:
        """The next `count` requests to send a message fail with `status` (429: the
        provider's 20429 with Retry-After; 5xx: a server error, Retry-After too)."""
        if code is None:
            code = 20429 if status == 429 else 20500
        with self._lock:
            self._failures.extend(Failure(status, code, retry_after) for _ in range(count))

    def _take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def message(self, sid: str) -> SentMessage:
        for message in self.messages:
            if message.sid == sid:
                return message
        raise KeyError(sid)

    def messages_to(self, number: str) -> list[SentMessage]:
        return [m for m in self.messages if m.to == number]

    # Calling Trellis ---------------------------------------------------------------------

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        return signature(self.auth_token, url, params)

    def post_signed(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        signed: bool = True,
        bad_signature: bool = False,
    ) -> tuple[int, str]:
        """POST `params` form-encoded to `url`, signed as the provider signs (or not)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            value = self.sign(url, params)
            if bad_signature:
                value = self.sign(url + "x", params)
            headers[SIGNATURE_HEADER] = value
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def status_params(self, sid: str, status: str, *, error_code: str = "") -> dict[str, str]:
        message = self.message(sid)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code:
            params["ErrorCode"] = error_code
        return params

    def send_status(
        self, sid: str, status: str, *, error_code: str = "", url: str | None = None
    ) -> tuple[int, str]:
        """The delivery-status callback for message `sid`, to its StatusCallback URL."""
        message = self.message(sid)
        message.status = status
        return self.post_signed(
            url or message.status_callback, self.status_params(sid, status, error_code=error_code)
        )

    def inbound_params(self, *, from_: str, body: str, sid: str | None = None) -> dict[str, str]:
        sid = sid or new_sid()
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsStatus": "received",
            "To": self.number,
        }

    def deliver_inbound(
        self, url: str, *, from_: str, body: str, sid: str | None = None, signed: bool = True
    ) -> tuple[int, str]:
        """A text from `from_` to the clinic's number, posted (signed) to Trellis's inbound
        URL. A `<Message>` in Trellis's TwiML answer is sent back to the texter, as the real
        provider does; `replies` keeps (status, texts) of each answer."""
        params = self.inbound_params(from_=from_, body=body, sid=sid)
        status, answer = self.post_signed(url, params, signed=signed)
        texts = twiml_messages(answer) if status == 200 else []
        with self._lock:
            self.replies.append((status, texts))
            for text in texts:
                self.messages.append(
                    SentMessage(
                        sid=new_sid(), to=from_, from_=self.number, body=text, status_callback=""
                    )
                )
        return status, answer


def twiml_messages(answer: str) -> list[str]:
    """The texts of the `<Message>` verbs in a TwiML `<Response>`."""
    if not answer.strip():
        return []
    root = ElementTree.fromstring(answer)  # noqa: S314 (our own server's answer, in a test)
    if root.tag != "Response":
        raise ValueError(f"not a TwiML response: {answer[:80]!r}")
    return [(element.text or "") for element in root.iter("Message")]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSmsProvider
    protocol_version = "HTTP/1.1"
    # What the request carried, for the record made when it is answered.
    _form: dict[str, str] = {}
    _authorized_request = False

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return

    # Answers -----------------------------------------------------------------------------

    def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] = {}) -> None:
        data = json.dumps(body).encode()
        # Recorded before the answer leaves, so a test reading `requests` after its call
        # returned always finds it.
        self._record(self._form, status, self._authorized_request)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, code: int, *, status: int | None = None, headers: Mapping[str, str] = {}, **fmt: str
    ) -> int:
        default_status, message = ERRORS.get(code, (500, "Internal Server Error"))
        status = status or default_status
        self._json(
            status,
            {
                "code": code,
                "message": message.format(**fmt) if fmt else message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            headers,
        )
        return status

    def _authorized(self, account: str) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(user, self.fake.account_sid) and hmac.compare_digest(
            password, self.fake.auth_token
        )

    def _record(self, form: dict[str, str], status: int, authorized: bool) -> None:
        with self.fake._lock:
            self.fake.requests.append(Received(self.command, self.path, form, status, authorized))

    # Routes ------------------------------------------------------------------------------

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        self._form, self._authorized_request = form, False
        match = _MESSAGES.match(urllib.parse.urlparse(self.path).path)
        if match is None:
            self._error(20404)
            return
        self._authorized_request = self._authorized(match.group(1))
        if not self._authorized_request:
            self._error(20003)
            return
        if match.group(1) != self.fake.account_sid:
            self._error(20404)
            return
        failure = self.fake._take_failure()
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            self._error(failure.code or 20500, status=failure.status, headers=headers)
            return
        to, body = form.get("To", "").strip(), form.get("Body", "")
        if not to:
            self._error(21604)
            return
        if not body:
            self._error(21602)
            return
        if not E164.match(to) or to in self.fake.invalid_numbers:
            self._error(21211, to=to)
            return
        if to in self.fake.unsubscribed:
            self._error(21610)
            return
        message = SentMessage(
            sid=new_sid(),
            to=to,
            from_=form.get("From", ""),
            body=body,
            status_callback=form.get("StatusCallback", ""),
        )
        with self.fake._lock:
            self.fake.messages.append(message)
        self._json(201, _resource(self.fake, message))

    def do_GET(self) -> None:
        self._form, self._authorized_request = {}, False
        match = _ONE_MESSAGE.match(urllib.parse.urlparse(self.path).path)
        if match is None:
            self._error(20404)
            return
        self._authorized_request = self._authorized(match.group(1))
        if not self._authorized_request:
            self._error(20003)
            return
        try:
            message = self.fake.message(match.group(2))
        except KeyError:
            self._error(20404)
            return
        self._json(200, _resource(self.fake, message))


def _resource(fake: FakeSmsProvider, message: SentMessage) -> dict[str, Any]:
    created = format_datetime(message.created_at, usegmt=True)
    return {
        "account_sid": fake.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "to": message.to,
        "uri": f"/{API_VERSION}/Accounts/{fake.account_sid}/Messages/{message.sid}.json",
    }


@contextmanager
def fake_sms_provider(**kwargs: Any) -> Iterator[FakeSmsProvider]:
    with FakeSmsProvider(**kwargs) as provider:
        yield provider
