"""Abuse limits that must not turn against honest users, the client address behind proxies, and joining.

Issue 11 items 5 (login lock-out), 6 (registration and share-code guessing per address), 7 (the client address
behind Cloudflare), 13 (rejoining after removal) and 14 (``RESIDENCE_SHARED`` notifications).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from honeydue import models
from honeydue.client_address import TrustedProxies, limit_key, resolve_client_address
from honeydue.models import NotificationType
from honeydue.passwords import hash_password
from honeydue.settings import ConfigError, Settings, load_settings
from resolvers.login_limits import LOGIN_WINDOW, PER_ADDRESS_FACTOR, PER_EMAIL_CEILING_FACTOR
from resolvers.residences import JOIN_ATTEMPTS_PER_HOUR_PER_ADDRESS
from tests.conftest import GraphQLClient, attach_test_services, make_settings, start_serve, stop_serve
from tests.plugins.domain import make_actor, make_world
from tests.wall_clock import wait_clear_of_edge

LOGIN = "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }"
SHARE = "mutation($i: CreateShareCodeInput!) { createShareCode(input: $i) { code } }"
JOIN = "mutation($i: JoinResidenceInput!) { joinResidence(input: $i) { residence { id } userErrors { code message } } }"
REMOVE = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { userErrors { code } } }"
NOTIFICATIONS = "{ notifications { edges { node { type title body } } } }"
PREFERENCES = """mutation($i: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $i) { userErrors { code } } }"""
PASSWORD = "correct horse battery"
CF_EDGE = "172.70.1.1"  # a Cloudflare edge address, as Traefik appends it to X-Forwarded-For

Clients = Callable[..., Awaitable[GraphQLClient]]

# The limits count in fixed windows on the service's clock (15 minutes for logins, an hour for registrations
# and share codes): a slow run crossing a window's edge would start a fresh count halfway through a test, so
# the tests that count hold the clock still. (Not every test: joining compares a removal's time with a share
# code's row stamp, which runs on while the frozen clock does not.)
counts_in_clock_windows = pytest.mark.usefixtures("frozen_now")


def outcome(result: dict, field: str) -> str:
    """RATE_LIMITED, a user error code, or OK."""
    if result.get("errors"):
        return result["errors"][0]["extensions"]["code"]
    errors = result["data"][field]["userErrors"]
    return errors[0]["code"] if errors else "OK"


@pytest.fixture
async def clients(settings: Settings, tmp_path: Path) -> AsyncIterator[Clients]:
    """``clients(address, headers, **settings)``: a GraphQL client whose connection comes from ``address``.

    Clients made with the same settings share one app (one set of rate limits); ``headers`` go with every
    request, as a proxy in front would add them. The ``settings`` fixture empties the tables afterwards.    """
    from honeydue.app import create_embedded_app

    apps: dict[tuple, object] = {}
    async with contextlib.AsyncExitStack() as opened:

        async def make(address: str, headers: dict[str, str] | None = None, **overrides: str) -> GraphQLClient:
            key = tuple(sorted(overrides.items()))
            if key not in apps:
                app_settings = make_settings(tmp_path / f"app{len(apps)}", DATABASE_URL=settings.database_url,
                                             **overrides)
                app = create_embedded_app(app_settings)
                await opened.enter_async_context(attach_test_services(app, app_settings))
                apps[key] = app
            transport = httpx.ASGITransport(app=apps[key], client=(address, 40000))  # type: ignore[arg-type]
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers or {})
            await opened.enter_async_context(http)
            return GraphQLClient(http)

        yield make


async def user_with_password(email: str) -> models.User:
    return await models.User.create(email=email, password_hash=hash_password(PASSWORD), display_name="Victim")


def login_vars(email: str, password: str) -> dict:
    return {"i": {"email": email, "password": password}}


# --- item 5: failed logins lock out the guesser, not the account's owner ------------------------------------


@counts_in_clock_windows
async def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(clients) -> None:
    await user_with_password("victim@example.com")
    attacker = await clients("198.51.100.66", LOGIN_ATTEMPTS_PER_15MIN="3")
    owner = await clients("203.0.113.10", LOGIN_ATTEMPTS_PER_15MIN="3")
    tries = [outcome(await attacker.execute(LOGIN, login_vars("victim@example.com", "wrong guess!")), "login")
             for _ in range(4)]
    assert tries == ["INVALID_CREDENTIALS"] * 3 + ["RATE_LIMITED"]
    # The attacker's address stays refused, even with the right password ...
    assert outcome(await attacker.execute(LOGIN, login_vars("victim@example.com", PASSWORD)), "login") == "RATE_LIMITED"
    # ... while the owner, at an address that has not been failing, signs in.
    signed_in = await owner.execute(LOGIN, login_vars("victim@example.com", PASSWORD))
    assert signed_in["data"]["login"]["token"], signed_in


@counts_in_clock_windows
async def test_only_failures_count(clients) -> None:
    await user_with_password("often@example.com")
    client = await clients("203.0.113.11", LOGIN_ATTEMPTS_PER_15MIN="2")
    # A typo, then more successful sign-ins than the address allows failures (2 x 5): none is refused.
    assert outcome(await client.execute(LOGIN, login_vars("often@example.com", "typo typo!")), "login") \
        == "INVALID_CREDENTIALS"
    results = [outcome(await client.execute(LOGIN, login_vars("often@example.com", PASSWORD)), "login")
               for _ in range(2 * PER_ADDRESS_FACTOR)]
    assert results == ["OK"] * (2 * PER_ADDRESS_FACTOR)  # 11 attempts from one address in all
    # A success cleared this address's failures for the email: two more typos are allowed again.
    for _ in range(2):
        assert outcome(await client.execute(LOGIN, login_vars("often@example.com", "typo typo!")), "login") \
            == "INVALID_CREDENTIALS"


@counts_in_clock_windows
async def test_one_address_guessing_many_accounts_is_refused(clients) -> None:
    client = await clients("198.51.100.70", LOGIN_ATTEMPTS_PER_15MIN="2")
    results = [outcome(await client.execute(LOGIN, login_vars(f"u{i}@example.com", "guess guess")), "login")
               for i in range(2 * PER_ADDRESS_FACTOR + 1)]
    assert results == ["INVALID_CREDENTIALS"] * (2 * PER_ADDRESS_FACTOR) + ["RATE_LIMITED"]


@counts_in_clock_windows
async def test_guessing_spread_over_many_addresses_meets_the_per_email_ceiling(clients) -> None:
    await user_with_password("target@example.com")
    limit = 2
    ceiling = limit * PER_EMAIL_CEILING_FACTOR
    wrong = login_vars("target@example.com", "wrong guess!")
    for n in range(ceiling // limit):  # each address spends its whole (email, address) allowance
        bot = await clients(f"198.51.100.{n + 1}", LOGIN_ATTEMPTS_PER_15MIN=str(limit))
        assert [outcome(await bot.execute(LOGIN, wrong), "login") for _ in range(limit)] == \
            ["INVALID_CREDENTIALS"] * limit
    # Past the ceiling a fresh address gets one attempt for this email, not ``limit``.
    late = await clients("198.51.100.200", LOGIN_ATTEMPTS_PER_15MIN=str(limit))
    assert [outcome(await late.execute(LOGIN, wrong), "login") for _ in range(2)] == \
        ["INVALID_CREDENTIALS", "RATE_LIMITED"]
    # The owner, from an address that has not been failing, still signs in.
    owner = await clients("203.0.113.12", LOGIN_ATTEMPTS_PER_15MIN=str(limit))
    assert outcome(await owner.execute(LOGIN, login_vars("target@example.com", PASSWORD)), "login") == "OK"


# --- item 6: registration and share codes are limited per client address -----------------------------------


@counts_in_clock_windows
async def test_registration_is_limited_per_address(clients) -> None:
    signups = await clients("198.51.100.80", REGISTER_ATTEMPTS_PER_HOUR="3")
    other = await clients("203.0.113.13", REGISTER_ATTEMPTS_PER_HOUR="3")

    def new(n: int) -> dict:
        return {"i": {"email": f"new{n}@example.com", "password": PASSWORD, "displayName": "New"}}

    results = [outcome(await signups.execute(REGISTER, new(n)), "register") for n in range(4)]
    assert results == ["OK", "OK", "OK", "RATE_LIMITED"]
    assert await models.User.filter(email="new3@example.com").count() == 0  # refused before any work
    assert outcome(await other.execute(REGISTER, new(3)), "register") == "OK"


@counts_in_clock_windows
async def test_share_code_guesses_are_limited_per_address_not_per_account(clients) -> None:
    await make_world()
    guessers = [await make_actor(f"guesser{n}") for n in range(4)]
    client = await clients("198.51.100.90")
    results = []
    for attempt in range(JOIN_ATTEMPTS_PER_HOUR_PER_ADDRESS + 4):
        who = guessers[attempt % len(guessers)]  # four fresh accounts take turns from one address
        results.append(outcome(await client.execute(JOIN, {"i": {"code": f"WRONG{attempt:05d}"}}, token=who.token),
                               "joinResidence"))
    assert results == ["INVALID_CODE"] * JOIN_ATTEMPTS_PER_HOUR_PER_ADDRESS + ["RATE_LIMITED"] * 4
    elsewhere = await clients("203.0.113.14")
    assert outcome(await elsewhere.execute(JOIN, {"i": {"code": "WRONG99999"}}, token=guessers[0].token),
                   "joinResidence") == "INVALID_CODE"


# --- item 7: the client address behind Cloudflare and Traefik ----------------------------------------------

BEHIND_CLOUDFLARE = {"FORWARDED_ALLOW_IPS": "10.42.0.0/16", "CLIENT_IP_HEADER": "CF-Connecting-IP",
                     "LOGIN_ATTEMPTS_PER_15MIN": "2"}


def via_cloudflare(visitor: str) -> dict[str, str]:
    """Headers as Traefik passes them on: Cloudflare named the visitor, Traefik appended Cloudflare's edge."""
    return {"CF-Connecting-IP": visitor, "X-Forwarded-For": f"{visitor}, {CF_EDGE}"}


@counts_in_clock_windows
async def test_limits_count_the_visitor_behind_cloudflare(clients, caplog) -> None:
    await user_with_password("cf@example.com")
    traefik = "10.42.0.7"
    attacker = await clients(traefik, via_cloudflare("198.51.100.5"), **BEHIND_CLOUDFLARE)
    owner = await clients(traefik, via_cloudflare("203.0.113.15"), **BEHIND_CLOUDFLARE)
    wrong = login_vars("cf@example.com", "wrong guess!")
    assert [outcome(await attacker.execute(LOGIN, wrong), "login") for _ in range(3)] == \
        ["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"]
    with caplog.at_level(logging.INFO, logger="honeydue.access"):
        assert outcome(await owner.execute(LOGIN, login_vars("cf@example.com", PASSWORD)), "login") == "OK"
    access = [r.getMessage() for r in caplog.records if r.name == "honeydue.access"]
    assert access and access[-1].startswith("POST /graphql 200") and access[-1].endswith("client=203.0.113.15")


@counts_in_clock_windows
async def test_the_client_header_is_ignored_from_untrusted_peers(clients) -> None:
    """Straight to the origin, a forged CF-Connecting-IP buys no fresh budgets: the peer's address counts."""
    results = []
    for i in range(2 * PER_ADDRESS_FACTOR + 1):
        direct = await clients("192.0.2.50", via_cloudflare(f"198.51.100.{i + 1}"), **BEHIND_CLOUDFLARE)
        results.append(outcome(await direct.execute(LOGIN, login_vars(f"x{i}@example.com", "guess guess")), "login"))
    assert results[-1] == "RATE_LIMITED" and results[:-1] == ["INVALID_CREDENTIALS"] * (2 * PER_ADDRESS_FACTOR)


def test_client_address_resolution() -> None:
    trusted = TrustedProxies("10.42.0.0/16, 127.0.0.1")
    header = b"cf-connecting-ip"

    def resolve(peer: str, **headers: str) -> str:
        raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
        return resolve_client_address(peer, raw, trusted, header)

    assert resolve("10.42.0.7", cf_connecting_ip="2001:db8::1", x_forwarded_for="2001:db8::1, 172.70.1.1") \
        == "2001:db8::1"
    # Without the header (or with a value that is no address), X-Forwarded-For's nearest untrusted hop.
    assert resolve("10.42.0.7", x_forwarded_for="198.51.100.1, 172.70.1.1") == CF_EDGE
    assert resolve("10.42.0.7", cf_connecting_ip="nonsense", x_forwarded_for="198.51.100.1, 10.42.0.9") \
        == "198.51.100.1"
    assert resolve("10.42.0.7", x_forwarded_for="198.51.100.1:5555") == "198.51.100.1"
    assert resolve("10.42.0.7") == "10.42.0.7"
    assert resolve("192.0.2.50", cf_connecting_ip="198.51.100.1", x_forwarded_for="198.51.100.1") == "192.0.2.50"
    # One IPv6 subscriber's /64 is one budget.
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert limit_key("198.51.100.1") == "198.51.100.1"


@pytest.mark.parametrize(("name", "value"), [("FORWARDED_ALLOW_IPS", "10.42.0.0/16,traefik"),
                                             ("CLIENT_IP_HEADER", "CF-Connecting-IP: 1.2.3.4")])
def test_bad_proxy_settings_stop_start_up(tmp_path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({"HONEYDUE_VAR_DIR": str(tmp_path), name: value})


@pytest.mark.e2e
def test_a_real_server_counts_the_visitor_behind_cloudflare(tmp_path) -> None:
    """``honeydue serve`` behind a trusted proxy (here loopback): limits and access lines use CF-Connecting-IP."""
    server = start_serve(tmp_path, {"FORWARDED_ALLOW_IPS": "127.0.0.1", "CLIENT_IP_HEADER": "CF-Connecting-IP",
                                    "LOGIN_ATTEMPTS_PER_15MIN": "2"})
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:

            def attempt(visitor: str, n: int) -> str:
                body = http.post("/graphql", headers=via_cloudflare(visitor), json={
                    "query": LOGIN, "variables": login_vars(f"u{n}@example.com", "wrong guess!")}).json()
                return outcome(body, "login")

            # Every visitor comes through the same Cloudflare edge; each has a budget of its own ...
            assert [attempt(f"198.51.100.{n}", n) for n in range(1, 13)] == ["INVALID_CREDENTIALS"] * 12
            # ... and one visitor's budget (2 x 5 over all emails) is spent by that visitor alone. The server
            # counts in 15-minute windows of its own wall clock: these attempts must all fall in one.
            wait_clear_of_edge(LOGIN_WINDOW, needed=60)
            spent = [attempt("203.0.113.77", n) for n in range(2 * PER_ADDRESS_FACTOR + 1)]
            assert spent == ["INVALID_CREDENTIALS"] * (2 * PER_ADDRESS_FACTOR) + ["RATE_LIMITED"]
        deadline = time.monotonic() + 10
        while "client=203.0.113.77" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "client=203.0.113.77" in server.log()
        assert f"client={CF_EDGE}" not in server.log()
    finally:
        stop_serve(server)


# --- item 13: a removed member cannot walk back in with an old code -----------------------------------------


async def test_a_removed_member_needs_a_new_code(clients) -> None:
    world = await make_world()
    api = await clients("203.0.113.20")
    old_code = (await api.execute(SHARE, {"i": {"residenceId": world.rid}}, token=world.owner.token))[
        "data"]["createShareCode"]["code"]
    joined = await api.execute(JOIN, {"i": {"code": old_code}}, token=world.outsider.token)
    assert outcome(joined, "joinResidence") == "OK"
    removed = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": world.outsider.id}},
                                token=world.owner.token)
    assert outcome(removed, "removeMember") == "OK"

    again = await api.execute(JOIN, {"i": {"code": old_code}}, token=world.outsider.token)
    assert outcome(again, "joinResidence") == "INVALID_CODE"
    assert "removed" in again["data"]["joinResidence"]["userErrors"][0]["message"]
    assert not await models.Membership.filter(residence_id=world.residence.id, user_id=world.outsider.user.id).exists()
    # The old code still admits people who were never removed.
    newcomer = await make_actor("newcomer")
    assert outcome(await api.execute(JOIN, {"i": {"code": old_code}}, token=newcomer.token), "joinResidence") == "OK"
    # A code made after the removal is the owner's new invitation.
    new_code = (await api.execute(SHARE, {"i": {"residenceId": world.rid}}, token=world.owner.token))[
        "data"]["createShareCode"]["code"]
    assert outcome(await api.execute(JOIN, {"i": {"code": new_code}}, token=world.outsider.token),
                   "joinResidence") == "OK"


async def test_someone_who_left_may_come_back_with_the_same_code(clients) -> None:
    world = await make_world()
    api = await clients("203.0.113.21")
    code = (await api.execute(SHARE, {"i": {"residenceId": world.rid}}, token=world.owner.token))[
        "data"]["createShareCode"]["code"]
    assert outcome(await api.execute(JOIN, {"i": {"code": code}}, token=world.outsider.token), "joinResidence") == "OK"
    left = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": world.outsider.id}},
                             token=world.outsider.token)
    assert outcome(left, "removeMember") == "OK"
    assert outcome(await api.execute(JOIN, {"i": {"code": code}}, token=world.outsider.token), "joinResidence") == "OK"


# --- item 14: owners hear that someone joined ---------------------------------------------------------------


async def test_owners_are_notified_when_someone_joins(clients) -> None:
    world = await make_world()
    api = await clients("203.0.113.22")
    quiet_owner = await make_actor("quiet")
    await models.Membership.create(residence=world.residence, user=quiet_owner.user, role="OWNER")
    muted = await api.execute(PREFERENCES, {"i": {"preferences": [
        {"type": "RESIDENCE_SHARED", "enabled": False}]}}, token=quiet_owner.token)
    assert muted["data"]["updateNotificationPreferences"]["userErrors"] == []
    code = (await api.execute(SHARE, {"i": {"residenceId": world.rid, "role": "EDITOR"}}, token=world.owner.token))[
        "data"]["createShareCode"]["code"]
    assert outcome(await api.execute(JOIN, {"i": {"code": code}}, token=world.outsider.token), "joinResidence") == "OK"

    async def notices(token: str) -> list[dict]:
        result = await api.execute(NOTIFICATIONS, token=token)
        return [edge["node"] for edge in result["data"]["notifications"]["edges"]]

    assert await notices(world.owner.token) == [{
        "type": "RESIDENCE_SHARED", "title": "Outsider joined Home",
        "body": "Outsider joined Home as editor with a share code."}]
    for actor in (quiet_owner, world.editor, world.viewer, world.outsider):  # muted, not owners, the joiner
        assert await notices(actor.token) == []
    assert await models.Notification.filter(type=NotificationType.RESIDENCE_SHARED).count() == 1


@pytest.mark.e2e
def test_a_join_reaches_the_owner_through_the_channels(tmp_path) -> None:
    """A real ``honeydue serve``: the in-process worker hands the notification to the email channel, which
    (without SMTP_HOST) logs it and writes it under var/mail/. Only a verified address gets it."""
    server = start_serve(tmp_path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:

            def call(query: str, variables: dict, token: str | None = None) -> dict:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
                assert "errors" not in body, body
                return body["data"]

            def register(email: str, name: str) -> str:
                return call(REGISTER, {"i": {"email": email, "password": PASSWORD, "displayName": name}})[
                    "register"]["token"]

            owner = register("owner-e2e@example.com", "Olive")
            joiner = register("joiner-e2e@example.com", "Jules")
            with contextlib.closing(sqlite3.connect(server.workdir / "var" / "honeydue.sqlite3")) as db, db:
                db.execute("UPDATE users SET email_verified = 1 WHERE email = 'owner-e2e@example.com'")
            residence = call("mutation { createResidence(input: {name: \"Cabin\"}) { residence { id } } }", {},
                             owner)["createResidence"]["residence"]["id"]
            code = call(SHARE, {"i": {"residenceId": residence}}, owner)["createShareCode"]["code"]
            assert call(JOIN, {"i": {"code": code}}, joiner)["joinResidence"]["residence"]["id"] == residence
        expected = "email to owner-e2e@example.com: Jules joined Cabin (SMTP_HOST unset; written to"
        deadline = time.monotonic() + 20
        while expected not in server.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert expected in server.log(), server.log()[-3000:]
        # The unverified joiner gets nothing but the verification email register sent.
        to_joiner = [line for line in server.log().splitlines() if "email to joiner-e2e@example.com" in line]
        assert all("Confirm your email address for honeydue" in line for line in to_joiner), to_joiner
        mails = [eml.read_text() for eml in (server.workdir / "var" / "mail").glob("*.eml")]
        # The join notice (besides the verification emails of register).
        assert sum("Subject: Jules joined Cabin" in mail for mail in mails) == 1
    finally:
        stop_serve(server)
