"""Security headers and CORS for the API.

Why a pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it only edits the
``http.response.start`` message, so streamed bodies pass through untouched and unbuffered.

Why it catches errors itself: Starlette's ``ServerErrorMiddleware`` sits outside every middleware added to an
app and sends its 500 straight to the server, past any header-adding middleware. So when the app fails before
answering, this middleware answers the 500 itself (with the headers) and re-raises, so the server and
Starlette still log the exception; ``ServerErrorMiddleware`` sees the response started and sends nothing.

The CSP fits the self-hosted GraphiQL page (``honeydue.graphiql``), checked in Chromium by
``tests/test_graphiql_browser.py``: everything from 'self'; ``data:`` only for the images and fonts inlined in
GraphiQL's CSS; no 'unsafe-inline', no 'unsafe-eval', no other host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from honeydue.settings import Settings


def content_security_policy(*, style_nonce: str | None = None) -> str:
    """The API's CSP; ``style_nonce`` additionally admits ``<style nonce=...>`` elements of one response.

    The nonce exists for the GraphiQL page: its dialogs (Radix, via react-remove-scroll) add a small ``<style>``
    element at run time, which Chromium blocks under a bare ``style-src 'self'``. A per-response nonce admits
    exactly those elements without 'unsafe-inline'.
    """
    style_src = "style-src 'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else "")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            style_src,
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# What a browser client of the API sends cross-origin: JSON POSTs with a bearer token; no cookies are used.
CORS_ALLOW_METHODS: Sequence[str] = ("GET", "POST", "OPTIONS")
CORS_ALLOW_HEADERS: Sequence[str] = ("Authorization", "Content-Type")
CORS_MAX_AGE_SECONDS = 600


class SecurityHeadersMiddleware:
    """Adds ``headers`` to every HTTP response that does not already set them.

    A response that sets one of them itself (say, a stricter CSP for a served file) keeps its own value.
    """

    def __init__(
        self,
        app: ASGIApp,
        headers: Mapping[str, str] = SECURITY_HEADERS,
        *,
        catch_errors: bool = True,
    ) -> None:
        self.app = app
        self.headers = dict(headers)
        self.catch_errors = catch_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if self.catch_errors and not response_started:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send_with_headers)
            raise


def apply_security(app: Starlette, settings: Settings) -> None:
    """Add CORS (for ``settings.cors_origins``) and the security headers to ``app``; call before it starts.

    Order: the headers middleware is added last so it is the outermost one and also covers CORS preflight
    answers. With no configured origin no CORS middleware is added, so browsers refuse cross-origin calls.
    """
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=list(CORS_ALLOW_METHODS),
            allow_headers=list(CORS_ALLOW_HEADERS),
            allow_credentials=False,
            max_age=CORS_MAX_AGE_SECONDS,
        )
    # In debug mode let Starlette render its traceback page instead of our plain 500.
    app.add_middleware(SecurityHeadersMiddleware, catch_errors=not app.debug)
