"""JSON log lines with the request id, the X-Request-ID round trip, and no secrets in any log line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from honeydue.logging_setup import configure_logging
from honeydue.models import Media, Task, User
from honeydue.models.enums import MediaPurpose, MediaStatus
from honeydue.request_id import accept_request_id
from honeydue.services import services_of
from honeydue.settings import Settings, load_settings
from honeydue.signing import sign_media_url

PASSWORD = "correct horse battery staple"
REGISTER = """mutation($input: RegisterInput!) { register(input: $input) { token userErrors { code } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"""


@pytest.fixture
def captured_log(settings: Settings) -> Iterator[io.StringIO]:
    """Configure process logging as the service does (JSON, DEBUG: the most talkative) into a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(load_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}), stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_request_id_acceptance() -> None:
    assert accept_request_id("abc-123_X.y") == "abc-123_X.y"
    for bad in (None, "", "x" * 129, "has space", "semi;colon", "new\nline"):
        generated = accept_request_id(bad)
        assert generated != bad and len(generated) == 32


async def test_request_id_echoed_and_in_json_log_lines(api_app: object, captured_log: io.StringIO) -> None:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        given = f"req-{uuid.uuid4().hex}"
        echoed = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": given})
        made = await http.get("/healthz", headers={"X-Request-ID": "not sane!"})

    assert echoed.headers["X-Request-ID"] == given
    fresh = made.headers["X-Request-ID"]
    assert fresh != "not sane!" and len(fresh) == 32
    lines = json_lines(captured_log)
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= line.keys(), line
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
    access = [line for line in lines if line["logger"] == "honeydue.access"]
    assert any(line["request_id"] == given and line["message"].startswith("POST /graphql 200") for line in access)
    assert any(line["request_id"] == fresh and line["message"].startswith("GET /healthz 200") for line in access)


async def test_login_and_signed_fetch_leave_no_secret_in_logs(
    api_app: object, settings: Settings, captured_log: io.StringIO, tmp_path: Path
) -> None:
    email = f"logs-{uuid.uuid4().hex[:8]}@example.com"
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        async def graphql(query: str, variables: dict, token: str | None = None) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            return response.json()["data"]

        await graphql(REGISTER, {"input": {"email": email, "password": PASSWORD, "displayName": "Logs"}})
        login = await graphql(LOGIN, {"input": {"email": email, "password": PASSWORD}})
        token = login["login"]["token"]
        assert token
        await graphql("{ me { id } }", {}, token=token)

        # A READY object fetched through the app's /media route with a signed link.
        user = await User.get(email=email)
        key = f"users/{user.id}/profile/{uuid.uuid4()}.png"
        storage = services_of(api_app).storage
        body = b"\x89PNG\r\n\x1a\n" + b"pixels" * 20
        await storage.put_bytes(key, body, "image/png")
        info = await storage.head(key)
        await Media.create(key=key, owner=user, purpose=MediaPurpose.AVATAR, filename="me.png",
                           content_type="image/png", size=len(body), status=MediaStatus.READY, etag=info.etag,
                           finalized_at=datetime.now(UTC))
        url = sign_media_url(settings.signing_keys(), "http://testserver", key, 3600)
        signature = httpx.URL(url).params["sig"]
        fetched = await http.get(url)
        assert fetched.status_code == 200 and fetched.content == body

    # What careless code elsewhere might log: each must come out redacted.
    careless = logging.getLogger("honeydue.test.careless")
    careless.info("fetching %s", url)
    careless.info("headers %s", {"Authorization": f"Bearer {token}"})
    careless.info("variables %s", {"email": email, "password": PASSWORD})
    careless.info("connecting to %s", "postgres://honeydue:db-secret-pw@db.internal:5432/honeydue")
    careless.warning("presigned %s", "https://b2.example/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=KEYID%2F20250101%2Fus-west%2Fs3%2Faws4_request&X-Amz-Signature=abc123def456")
    try:
        raise RuntimeError(f"login failed for password={PASSWORD}")
    except RuntimeError:
        careless.exception("while handling token %s", token)

    text = captured_log.getvalue()
    lines = json_lines(captured_log)
    assert any(line["logger"] == "honeydue.access" and line["message"].startswith("GET /media/") for line in lines)
    assert "[REDACTED]" in text
    secrets = (PASSWORD, "horse battery staple", token, signature, "db-secret-pw", "abc123def456",
               "KEYID%2F20250101", "$argon2")
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into the logs"


async def test_action_links_are_logged_without_their_token(
    api_app: object, settings: Settings, captured_log: io.StringIO
) -> None:
    """A reminder's Done link acts for days: its token never reaches the access log."""
    from honeydue.notification_actions import task_actions
    from tests.plugins.domain import make_world

    world = await make_world()
    task = await Task.create(residence=world.residence, title="Clean gutters", frequency="MONTHLY")
    done, _ = await task_actions(world.owner.user.id, task.id, settings=settings)
    path = httpx.URL(done.url).path
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get(path)).status_code == 200
    token = path.rsplit("/", 1)[1]
    access = [line["message"] for line in json_lines(captured_log) if line["logger"] == "honeydue.access"]
    assert any(message.startswith("GET /actions/{token} 200") for message in access), access
    # (httpx, the test's own client, logs the URL it fetched; the service's lines must not.)
    assert not [line for line in json_lines(captured_log) if line["logger"] != "httpx" and token in json.dumps(line)]
