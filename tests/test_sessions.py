"""Sessions: ``User.sessions``, ``lastUsedAt`` written at most once a minute, ``revokeSession`` and
``revokeOtherSessions``, and a revoked token refused by the API and by the gateway's bearer path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_gateway_app
from gateway.state import attach_gateway
from honeydue import clock, models
from honeydue.settings import Settings
from honeydue.storage import create_storage
from honeydue.tokens import hash_token, issue_token
from resolvers.sessions import MAX_SESSIONS_LISTED
from tests.conftest import GraphQLClient, attach_test_services, make_settings
from tests.plugins.domain import make_actor
from tests.test_gateway import GATEWAY_REDIS_URL
from tests.test_n_plus_one import count_statements

PASSWORD = "correct horse battery"
SESSIONS = "{ me { sessions { id createdAt lastUsedAt userAgent ipAddress current } } }"
REGISTER = """mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }"""
LOGIN = """mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }"""
REVOKE = """mutation($i: RevokeSessionInput!) { revokeSession(input: $i) { ok userErrors { code } } }"""
REVOKE_OTHERS = "mutation { revokeOtherSessions { revokedCount userErrors { code } } }"
PHONE = "HoneyDue/2.1 (iPhone; iOS 18.2)"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


async def call(api: GraphQLClient, query: str, variables: dict | None = None, *, token: str | None = None,
               user_agent: str | bytes | None = None) -> dict:
    headers: dict[str, str | bytes] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    response = await api.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def register(api: GraphQLClient, user_agent: str | bytes = PHONE) -> tuple[str, str]:
    email = f"s-{uuid.uuid4().hex[:8]}@example.com"
    result = await call(api, REGISTER, {"i": {"email": email, "password": PASSWORD, "displayName": "S"}},
                        user_agent=user_agent)
    assert result["data"]["register"]["userErrors"] == [], result
    return email, result["data"]["register"]["token"]


async def login(api: GraphQLClient, email: str, user_agent: str = LAPTOP) -> str:
    result = await call(api, LOGIN, {"i": {"email": email, "password": PASSWORD}}, user_agent=user_agent)
    assert result["data"]["login"]["userErrors"] == [], result
    return result["data"]["login"]["token"]


async def sessions(api: GraphQLClient, token: str) -> list[dict]:
    result = await call(api, SESSIONS, token=token)
    assert "errors" not in result, result
    return result["data"]["me"]["sessions"]


async def me_code(api: GraphQLClient, token: str) -> str | None:
    """None when the token is accepted, else the top-level error code."""
    result = await call(api, "{ me { id } }", token=token)
    return result["errors"][0]["extensions"]["code"] if result.get("errors") else None


# --- listing --------------------------------------------------------------------------------------------


async def test_register_and_login_record_the_client_and_the_list_is_newest_first(api, settings) -> None:
    email, phone = await register(api, user_agent=PHONE)
    laptop = await login(api, email, user_agent=LAPTOP)

    seen_by_phone = await sessions(api, phone)
    assert [(s["userAgent"], s["ipAddress"], s["current"]) for s in seen_by_phone] == [
        (LAPTOP, "203.0.113.7", False),  # the api fixture's client address
        (PHONE, "203.0.113.7", True),
    ]
    assert seen_by_phone[0]["createdAt"] > seen_by_phone[1]["createdAt"]
    # Signing in is a use: lastUsedAt starts at the sign-in.
    assert all(s["lastUsedAt"] is not None for s in seen_by_phone)
    assert [s["current"] for s in await sessions(api, laptop)] == [True, False]


async def test_the_address_is_the_client_behind_trusted_proxies(settings, tmp_path) -> None:
    """The session records the one client address (honeydue.client_address): the visitor Cloudflare names
    when the request comes through the trusted ingress, the peer itself when a header is forged."""
    from honeydue.app import create_embedded_app

    app_settings = make_settings(tmp_path, DATABASE_URL=settings.database_url, FORWARDED_ALLOW_IPS="10.42.0.0/16",
                                 CLIENT_IP_HEADER="CF-Connecting-IP")
    app = create_embedded_app(app_settings)
    forwarded = {"CF-Connecting-IP": "2001:db8::5", "X-Forwarded-For": "2001:db8::5, 172.68.1.1"}
    async with attach_test_services(app, app_settings):
        for peer, expected in (("10.42.0.7", "2001:db8::5"), ("192.0.2.50", "192.0.2.50")):
            transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                         headers=forwarded) as http:
                client = GraphQLClient(http)
                _, token = await register(client)
                assert [s["ipAddress"] for s in await sessions(client, token)] == [expected]


async def test_user_agent_is_stripped_of_control_characters_and_cut(api, settings) -> None:
    hostile = "Evil\x1b[31m\tAgent\x7f\x85" + "x" * 400
    _, token = await register(api, user_agent=hostile.encode("latin-1"))  # as the bytes arrive
    (session,) = await sessions(api, token)
    assert session["userAgent"] == ("Evil[31mAgent" + "x" * 400)[:255]
    assert len(session["userAgent"]) == 255

    _, silent = await register(api, user_agent="\x01\x02 ")
    (session,) = await sessions(api, silent)
    assert session["userAgent"] is None


async def test_only_live_sessions_are_listed_capped_at_the_newest(api, settings) -> None:
    email, token = await register(api)
    user = await models.User.get(email=email)
    extra = [await issue_token(user, 1) for _ in range(MAX_SESSIONS_LISTED + 4)]
    expired = await models.AuthToken.filter(user_id=user.id).order_by("-created_at").first()
    assert expired is not None
    await models.AuthToken.filter(id=expired.id).update(expires_at=clock.utc_now() - timedelta(seconds=1))
    revoked = await call(api, REVOKE, {"i": {"sessionId": str((await _token_row(extra[-2])).id)}}, token=token)
    assert revoked["data"]["revokeSession"]["ok"] is True

    listed = await sessions(api, token)
    live = await models.AuthToken.filter(user_id=user.id, revoked_at=None,
                                         expires_at__gt=clock.utc_now()).order_by("-created_at", "-id")
    assert len(live) == MAX_SESSIONS_LISTED + 3  # register's, 104 more, less one expired and one revoked
    assert [s["id"] for s in listed] == [str(row.id) for row in live[:MAX_SESSIONS_LISTED]]
    assert str(expired.id) not in {s["id"] for s in listed}


async def _token_row(raw: str) -> models.AuthToken:
    return await models.AuthToken.get(token_hash=hash_token(raw))


async def test_an_admin_sees_a_users_sessions_others_do_not(api, settings) -> None:
    email, _ = await register(api, user_agent=PHONE)
    user = await models.User.get(email=email)
    admin = await make_actor("admin", is_admin=True)
    query = "query($id: ID!) { admin { user(id: $id) { sessions { userAgent current } } } }"
    result = await call(api, query, {"id": str(user.id)}, token=admin.token)
    assert result["data"]["admin"]["user"]["sessions"] == [{"userAgent": PHONE, "current": False}]

    stranger = await make_actor("stranger")
    refused = await call(api, query, {"id": str(user.id)}, token=stranger.token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- lastUsedAt -------------------------------------------------------------------------------------------


def _token_writes(counter: Any) -> list[str]:
    return [s for s in counter.statements if s.upper().startswith("UPDATE") and "auth_tokens" in s]


async def test_last_used_at_is_written_at_most_once_a_minute(api, settings) -> None:
    _, token = await register(api)
    row = await _token_row(token)

    with count_statements() as counter:
        for _ in range(5):
            assert await me_code(api, token) is None
    assert _token_writes(counter) == []  # issued moments ago: nothing to record

    stale = clock.utc_now() - timedelta(minutes=2)
    await models.AuthToken.filter(id=row.id).update(last_used_at=stale)
    before = clock.utc_now()
    with count_statements() as counter:
        for _ in range(5):
            assert await me_code(api, token) is None
    assert len(_token_writes(counter)) == 1
    await row.refresh_from_db()
    assert row.last_used_at is not None and row.last_used_at >= before - timedelta(seconds=1)
    (listed,) = await sessions(api, token)
    assert listed["lastUsedAt"].startswith(row.last_used_at.strftime("%Y-%m-%dT%H:%M:%S"))


async def test_a_token_never_used_is_recorded_on_its_first_use(api, settings) -> None:
    _, token = await register(api)
    row = await _token_row(token)
    await models.AuthToken.filter(id=row.id).update(last_used_at=None)  # as rows from before sessions were
    with count_statements() as counter:
        for _ in range(3):
            assert await me_code(api, token) is None
    assert len(_token_writes(counter)) == 1
    await row.refresh_from_db()
    assert row.last_used_at is not None


# --- revoking ---------------------------------------------------------------------------------------------


async def test_revoke_session_ends_only_ones_own_session(api, settings) -> None:
    email, phone = await register(api)
    laptop = await login(api, email)
    _, other_user = await register(api)
    others_session = (await sessions(api, other_user))[0]["id"]
    laptop_session = next(s["id"] for s in await sessions(api, phone) if not s["current"])

    for missing in (others_session, "not-a-uuid", str(uuid.uuid4())):
        result = await call(api, REVOKE, {"i": {"sessionId": missing}}, token=phone)
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND", result
    assert await me_code(api, other_user) is None

    done = await call(api, REVOKE, {"i": {"sessionId": laptop_session}}, token=phone)
    assert done["data"]["revokeSession"] == {"ok": True, "userErrors": []}
    assert await me_code(api, laptop) == "UNAUTHENTICATED"
    assert [s["current"] for s in await sessions(api, phone)] == [True]
    again = await call(api, REVOKE, {"i": {"sessionId": laptop_session}}, token=phone)
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    # Ending the current session signs this client out, like logout.
    (current,) = await sessions(api, phone)
    assert (await call(api, REVOKE, {"i": {"sessionId": current["id"]}}, token=phone))["data"]["revokeSession"]["ok"]
    assert await me_code(api, phone) == "UNAUTHENTICATED"


async def test_revoke_other_sessions_keeps_only_the_callers(api, settings) -> None:
    email, phone = await register(api)
    laptops = [await login(api, email) for _ in range(2)]
    _, bystander = await register(api)

    result = await call(api, REVOKE_OTHERS, token=phone)
    assert result["data"]["revokeOtherSessions"] == {"revokedCount": 2, "userErrors": []}
    for laptop in laptops:
        assert await me_code(api, laptop) == "UNAUTHENTICATED"
    assert await me_code(api, phone) is None
    assert await me_code(api, bystander) is None
    assert [s["current"] for s in await sessions(api, phone)] == [True]

    alone = await call(api, REVOKE_OTHERS, token=phone)
    assert alone["data"]["revokeOtherSessions"]["revokedCount"] == 0


# --- the gateway ------------------------------------------------------------------------------------------


@pytest.fixture
async def gateway(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Any]]:
    """A real gateway app on the local store, its bearer-decision cache on Redis."""
    import redis.asyncio as aioredis

    from tests.conftest import missing_service

    redis = aioredis.Redis.from_url(GATEWAY_REDIS_URL, socket_connect_timeout=1)
    try:
        await redis.ping()
    except (OSError, aioredis.ConnectionError):
        missing_service(f"Redis at {GATEWAY_REDIS_URL}")
    await redis.flushdb()
    storage = create_storage(settings)
    await storage.start()
    app = create_gateway_app(settings)
    async with attach_test_services(app, settings, storage=storage) as services, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        attach_gateway(app, replace(services, redis=redis))  # the bearer-decision cache on this Redis
        yield http, storage, redis
    await storage.close()
    await redis.flushdb()
    await redis.aclose()


async def test_a_revoked_token_is_refused_by_the_gateway_at_once(api, gateway) -> None:
    http, storage, redis = gateway
    email, phone = await register(api)
    laptop = await login(api, email)
    user = await models.User.get(email=email)
    key = f"users/{user.id}/avatar/{uuid.uuid4()}.png"
    await storage.put_bytes(key, b"\x89PNG" + b"x" * 60, "image/png")
    await models.Media.create(key=key, owner=user, purpose=models.MediaPurpose.AVATAR, filename="a.png",
                              content_type="image/png", size=64, status=models.MediaStatus.READY)

    read = await http.get(f"/media/{key}", headers={"Authorization": f"Bearer {laptop}"})
    assert read.status_code == 200
    cached = [k async for k in redis.scan_iter("honeydue:gw:acl:*")]
    assert len(cached) == 1  # the access decision for (user, media), kept for up to 30 s

    laptop_session = next(s["id"] for s in await sessions(api, phone) if not s["current"])
    assert (await call(api, REVOKE, {"i": {"sessionId": laptop_session}}, token=phone))["data"]["revokeSession"]["ok"]
    # The cached decision is still there, but the token itself is checked on every request: refused now.
    assert await redis.ttl(cached[0]) > 0
    refused = await http.get(f"/media/{key}", headers={"Authorization": f"Bearer {laptop}"})
    assert refused.status_code == 401
    assert (await http.get(f"/media/{key}", headers={"Authorization": f"Bearer {phone}"})).status_code == 200


async def test_gateway_reads_record_use_at_most_once_a_minute(api, gateway) -> None:
    http, _, _ = gateway
    _, token = await register(api)
    row = await _token_row(token)
    stale = clock.utc_now() - timedelta(minutes=5)
    await models.AuthToken.filter(id=row.id).update(last_used_at=stale)
    with count_statements() as counter:
        for _ in range(3):
            missing = await http.get("/media/users/x/avatar/none.png", headers={"Authorization": f"Bearer {token}"})
            assert missing.status_code == 404
    assert len(_token_writes(counter)) == 1
    await row.refresh_from_db()
    assert row.last_used_at is not None and row.last_used_at > stale + timedelta(minutes=4)
