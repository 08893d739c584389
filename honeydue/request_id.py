"""The request id: taken from ``X-Request-ID`` when sane, else made here; echoed, and stamped on every log line.

Traefik (or any proxy in front) may already have given the request an id; keeping it lets an operator follow
one request across the proxy, the API and the gateway. "Sane" means short and made of URL-safe characters,
so a client cannot inject newlines or megabytes into the logs through this header.

The id lives in a context variable for the duration of the request; ``RequestIdFilter`` copies it onto each
log record (``None`` outside a request). The middleware also writes one access line per request: the method,
the path but never the query string (it carries signed links' signatures), the status, the time taken, and
the client's address (``honeydue.client_address``; also the record's ``client`` field).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from honeydue.client_address import client_address

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:+=-]{1,128}$")
# Probes and scrapes arrive every few seconds; their access lines are DEBUG so they do not drown the rest.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Paths whose last part is a live secret (a reminder's Done and Snooze links act for 7 days): logged as the template.
SECRET_PATH_PREFIXES = ("/actions/",)


def loggable_path(path: str) -> str:
    """``path`` as the access log writes it: a secret path segment is replaced by ``{token}``."""
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "{token}"
    return path

_request_id: ContextVar[str | None] = ContextVar("honeydue_request_id", default=None)
access_log = logging.getLogger("honeydue.access")


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside one (jobs, start-up)."""
    return _request_id.get()


def accept_request_id(value: str | None) -> str:
    """``value`` if it is a sane id, else a fresh one."""
    if value and _SANE.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record; attach it to handlers so records of every logger get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class RequestIdMiddleware:
    """Pure ASGI: sets the id for the request, adds ``X-Request-ID`` to the response, logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accept_request_id(incoming)
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                path = str(scope.get("path", ""))
                level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
                client = client_address(scope)
                access_log.log(level, "%s %s %d %.1fms client=%s", scope["method"], loggable_path(path), status,
                               (time.perf_counter() - started) * 1000, client, extra={"client": client})
            _request_id.reset(token)
