"""The /graphql request itself: MAX_REQUEST_BYTES (413 REQUEST_TOO_LARGE, not read past the limit), bodies
that are not JSON or are nested too deeply (400 BAD_REQUEST), and Cache-Control on every answer."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from honeydue.app import create_embedded_app
from tests.conftest import ServeProcess, attach_test_services, make_settings
from tests.plugins.domain import make_world

CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024


class CountedBody:
    """A 50 MB request body, produced chunk by chunk, that remembers how much of it was taken."""

    def __init__(self, size: int = FIFTY_MB) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += CHUNK
            yield b" " * CHUNK


def graphql_error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"errors"}, body
    return response.status_code, body["errors"][0]["extensions"]["code"]


async def test_a_body_declared_too_large_is_refused_unread(api, settings) -> None:
    body = CountedBody()
    response = await api.http.post("/graphql", content=body, headers={
        "Content-Type": "application/json", "Content-Length": str(FIFTY_MB)})
    assert graphql_error(response) == (413, "REQUEST_TOO_LARGE")
    assert response.headers["cache-control"] == "no-store"
    assert body.sent <= CHUNK  # at most what the client pushed before the answer: nothing was read
    assert settings.max_request_bytes == 1024 * 1024


async def test_a_chunked_body_is_refused_as_soon_as_it_runs_over(api, settings) -> None:
    body = CountedBody()  # no Content-Length: httpx sends it chunked
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert graphql_error(response) == (413, "REQUEST_TOO_LARGE")
    assert settings.max_request_bytes < body.sent <= settings.max_request_bytes + 2 * CHUNK


async def test_max_request_bytes_is_a_setting(settings, tmp_path: Path) -> None:
    small = make_settings(tmp_path, DATABASE_URL=settings.database_url, MAX_REQUEST_BYTES="2048")
    app = create_embedded_app(small)
    async with attach_test_services(app, small), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        fits = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"pad": "x" * 1900}})
        assert fits.status_code == 200 and fits.json() == {"data": {"__typename": "Query"}}
        over = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"pad": "x" * 2100}})
        assert graphql_error(over) == (413, "REQUEST_TOO_LARGE")
        assert "2048 bytes" in over.json()["errors"][0]["message"]


@pytest.mark.parametrize("body", [
    '{"query": "{ __typename }", "variables": {"a": ' + "[" * 5000 + "]" * 5000 + "}}",  # was a 500
    '{"query": "{ __typename }", "variables": {"a": ' + '{"b":' * 5000 + "1" + "}" * 5000 + "}}",
    b'{"query": "\xff\xfe"}',  # not UTF-8: was a 500 too
    "{not json",
    '["not", "an", "operation"]',
    '{"query": "{ __typename }", "variables": [1]}',
])
async def test_a_body_that_does_not_parse_is_a_bad_request(api, settings, body: str | bytes) -> None:
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert graphql_error(response) == (400, "BAD_REQUEST")


async def test_other_refusals_before_graphql_are_graphql_shaped(api, settings) -> None:
    response = await api.http.post("/graphql", content="{ __typename }", headers={"Content-Type": "text/plain"})
    assert graphql_error(response) == (400, "BAD_REQUEST")
    bad_length = await api.http.post("/graphql", content=b"{}", headers={
        "Content-Type": "application/json", "Content-Length": "lots"})
    assert graphql_error(bad_length) == (400, "BAD_REQUEST")


async def test_graphql_answers_are_never_cached(api, settings) -> None:
    world = await make_world()
    authenticated = await api.http.post("/graphql", json={"query": "{ me { id } }"},
                                        headers={"Authorization": f"Bearer {world.owner.token}"})
    assert authenticated.status_code == 200 and authenticated.json()["data"]["me"]["id"] == world.owner.id
    assert authenticated.headers["cache-control"] == "no-store"
    # An anonymous answer can carry a token (login): the same header.
    anonymous = await api.http.post("/graphql", json={"query": "{ __typename }"})
    assert anonymous.headers["cache-control"] == "no-store"


def test_a_real_server_answers_413_before_the_body_is_sent(honeydue_serve: ServeProcess) -> None:
    address = urlsplit(honeydue_serve.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(f"POST /graphql HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {FIFTY_MB}\r\n\r\n".encode() + b" " * CHUNK)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = conn.recv(65536)
            if not piece:
                break
            answer += piece
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(payload)["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
