"""Security headers on every API response (successes, 404s, errors, CORS preflights) and CORS by origin."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from honeydue.security_headers import (
    CONTENT_SECURITY_POLICY,
    SECURITY_HEADERS,
    SecurityHeadersMiddleware,
    apply_security,
    content_security_policy,
)
from honeydue.settings import load_settings

ALLOWED_ORIGIN = "https://app.honeydue.test"
OTHER_ORIGIN = "https://evil.test"


@strawberry.type(name="Query")
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _boom(request: Request) -> Response:
    raise RuntimeError("unhandled failure in a route")


async def _forbidden(request: Request) -> Response:
    raise HTTPException(status_code=403, detail="no")


async def _own_csp(request: Request) -> Response:
    return PlainTextResponse("file", headers={"Content-Security-Policy": "sandbox"})


def build_app(cors_origins: str = "") -> Starlette:
    app = Starlette(
        routes=[
            Route("/ok", _ok),
            Route("/boom", _boom),
            Route("/forbidden", _forbidden),
            Route("/own-csp", _own_csp),
            Route("/graphql", GraphQL(strawberry.Schema(query=_Query), graphql_ide=None)),
        ]
    )
    apply_security(app, load_settings({"CORS_ORIGINS": cors_origins}))
    return app


def client_for(app: Starlette) -> httpx.AsyncClient:
    # raise_app_exceptions=False: the middleware re-raises after answering so servers log the error.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))


def test_csp_is_strict() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    # Only our origin and data: URLs (GraphiQL's inlined fonts and images); no other host or scheme.
    sources = {source for value in directives.values() for source in value.split()}
    assert sources <= {"'self'", "'none'", "data:"}


def test_style_nonce_adds_only_the_nonce() -> None:
    policy = content_security_policy(style_nonce="abc123")
    assert "style-src 'self' 'nonce-abc123'" in policy
    assert policy.replace(" 'nonce-abc123'", "") == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/ok", 200),
        ("GET", "/missing", 404),
        ("DELETE", "/ok", 405),
        ("GET", "/forbidden", 403),
        ("GET", "/boom", 500),
    ],
)
async def test_headers_on_every_response(method: str, path: str, status: int) -> None:
    async with client_for(build_app()) as client:
        response = await client.request(method, path)
    assert response.status_code == status
    assert_security_headers(response)


async def test_headers_on_graphql_answers() -> None:
    async with client_for(build_app()) as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}
    assert_security_headers(response)


async def test_unhandled_error_answers_500_without_details() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert "unhandled failure" not in response.text


async def test_unhandled_error_is_still_raised_for_the_server_to_log() -> None:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with pytest.raises(RuntimeError, match="unhandled failure"):
            await client.get("/boom")


async def test_response_keeps_its_own_csp() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/own-csp")
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_streamed_body_passes_through_unbuffered() -> None:
    """The second chunk is produced only after the first reached the server: buffering would deadlock."""
    first_chunk_sent = asyncio.Event()

    async def chunks():  # type: ignore[no-untyped-def]
        yield b"first"
        await first_chunk_sent.wait()
        yield b"second"

    app = SecurityHeadersMiddleware(StreamingResponse(chunks(), media_type="text/plain"))
    messages: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never disconnects during this test
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        messages.append(message)
        if message.get("body") == b"first":
            first_chunk_sent.set()

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "asgi": {"spec_version": "2.4"}}
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    start = messages[0]
    assert start["type"] == "http.response.start"
    assert (b"x-content-type-options", b"nosniff") in start["headers"]
    assert [m.get("body") for m in messages[1:] if m.get("body")] == [b"first", b"second"]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    await SecurityHeadersMiddleware(inner)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_preflight_from_allowed_origin() -> None:
    async with client_for(build_app(ALLOWED_ORIGIN)) as client:
        response = await client.options("/graphql", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert_security_headers(response)


async def test_preflight_from_other_origin_is_refused() -> None:
    async with client_for(build_app(ALLOWED_ORIGIN)) as client:
        response = await client.options("/graphql", headers={"Origin": OTHER_ORIGIN, **PREFLIGHT})
    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers
    assert_security_headers(response)


async def test_cors_on_actual_request_by_origin() -> None:
    body = {"query": "{ hello }"}
    async with client_for(build_app(f"{ALLOWED_ORIGIN},https://second.honeydue.test")) as client:
        allowed = await client.post("/graphql", json=body, headers={"Origin": ALLOWED_ORIGIN})
        other = await client.post("/graphql", json=body, headers={"Origin": OTHER_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Access-Control-Allow-Origin" not in other.headers
    # CORS is the browser's rule: the server still answers, the browser withholds it from the other page.
    assert other.json() == {"data": {"hello": "world"}}


async def test_no_configured_origins_means_no_cors() -> None:
    async with client_for(build_app("")) as client:
        preflight = await client.options("/graphql", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})
        response = await client.post("/graphql", json={"query": "{ hello }"}, headers={"Origin": ALLOWED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in response.headers
    assert_security_headers(preflight)
