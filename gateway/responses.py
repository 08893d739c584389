"""Small responses the gateway sends instead of an object: errors, 304, HEAD, preflight.

Errors carry ``Cache-Control: no-store`` so a CDN never keeps a 403 or a 404 in
place of an object that becomes readable later, ``X-Content-Type-Options: nosniff``
and whatever CORS headers the route passes (so a cross-origin page can read the
status), and never anything about the object itself (size, type, validators).
The 412 and 416 answers about an object the caller may read also carry
``Accept-Ranges: bytes``, like the object's own 200 and 206.
"""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send


class HeadersOnly:
    """A response with headers and no body, keeping the Content-Length we computed (HEAD, 304)."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class ErrorResponse:
    """A short JSON error, never cacheable."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 code: str | None = None) -> None:
        self.status = status
        # ``code``: the API's name for the refusal where it has one (REQUEST_TOO_LARGE, BAD_REQUEST).
        self.body = json.dumps({"error": message, "code": code} if code else {"error": message}).encode()
        merged = {
            **(headers or {}),
            "Content-Type": "application/json",
            "Content-Length": str(len(self.body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body, "more_body": False})
