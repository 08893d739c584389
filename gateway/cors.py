"""CORS for the media routes, which are mounted into apps with and without CORS middleware.

Media is fetched cross-origin (pdf.js, canvas, fetch of a signed link), so with
no ``CORS_ORIGINS`` configured any origin may read: a signed link is already a
capability, and bearer reads send no cookies. A configured list is honoured
exactly, with ``Vary: Origin`` so caches keep the answers apart.
"""

from __future__ import annotations

from starlette.requests import Request

from gateway.responses import HeadersOnly
from honeydue.services import services_of

EXPOSED = "Accept-Ranges, Content-Disposition, Content-Length, Content-Range, ETag, Last-Modified"
ALLOWED_REQUEST_HEADERS = (
    "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Range, Range"
)
PREFLIGHT_MAX_AGE = "600"


def cors_headers(request: Request) -> dict[str, str]:
    allowed: list[str] = services_of(request).settings.cors_origins
    if not allowed or "*" in allowed:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSED}
    origin = request.headers.get("origin")
    if origin and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED,
                "Vary": "Origin"}
    return {"Vary": "Origin"}


def preflight(request: Request, methods: tuple[str, ...]) -> HeadersOnly:
    headers = cors_headers(request)
    headers.pop("Access-Control-Expose-Headers", None)
    if "Access-Control-Allow-Origin" in headers:
        headers.update({
            "Access-Control-Allow-Methods": ", ".join((*methods, "OPTIONS")),
            "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        })
    # No Content-Length: RFC 9110 section 8.6 forbids it on a 204 (nginx sends none either).
    return HeadersOnly(204, headers)
