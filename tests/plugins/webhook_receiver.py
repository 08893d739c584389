"""A webhook receiver for tests: a real HTTP server (in a thread) that checks what a production receiver checks.

Requests to ``/hook`` must carry ``X-Honeydue-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with the
secret>`` (compared in constant time), ``X-Honeydue-Event``, ``X-Honeydue-Delivery`` matching the body's
``deliveryId``, and a JSON body; anything else is answered 401 or 400 and recorded as refused. Other paths
(``/apprise``: Apprise's ``json://`` plugin) take any JSON. ``answer_next`` scripts the next answers (a 503
with ``Retry-After``, a 410).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any


@dataclass
class Receiver:
    port: int
    secret: str | None = None
    accepted: list[Received] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    scripted: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/apprise"

    def answer_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.scripted.append((status, headers or {}))

    def hooks(self) -> list[Received]:
        with self.lock:
            return [r for r in self.accepted if r.path == "/hook"]

    def check(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, str]:
        """(status, reason) a careful receiver answers: 200 only for a well-formed, correctly signed delivery."""
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, "body is not JSON"
        if path != "/hook":
            return 200, "ok"
        if self.secret is None:
            return 401, "no secret configured"
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-honeydue-signature", ""), expected):
            return 401, "bad signature"
        if not headers.get("x-honeydue-event") or headers.get("x-honeydue-event") != body.get("event"):
            return 400, "X-Honeydue-Event missing or not the body's event"
        if headers.get("x-honeydue-delivery") != body.get("deliveryId"):
            return 400, "X-Honeydue-Delivery is not the body's deliveryId"
        return 200, "ok"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reason = receiver.check(self.path, headers, raw)
            extra: dict[str, str] = {}
            with receiver.lock:
                if status == 200 and receiver.scripted:
                    status, extra = receiver.scripted.pop(0)
                if status == 200:
                    receiver.accepted.append(Received(self.path, headers, raw, json.loads(raw)))
                else:
                    receiver.refused.append((status, reason))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextlib.contextmanager
def run_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1, speaking TLS with ``tls`` when given."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    with run_receiver() as receiver:
        yield receiver
