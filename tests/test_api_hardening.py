"""Hostile or careless input gets a clear answer quickly and leaves the server healthy (review findings)."""

from __future__ import annotations

import base64
import logging

import pytest

from honeydue import models
from honeydue.logging_setup import redact
from honeydue.models import ResidenceRole
from honeydue.passwords import hash_password
from tests.plugins.domain import make_world

LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"""


@pytest.mark.timeout(20)  # a hang bound: the quadratic pattern took minutes on these inputs
@pytest.mark.parametrize("sample", ["a" * 200_000, "ab-" * 100_000, "a." * 100_000, "x:" * 100_000])
def test_redaction_is_linear_on_long_inputs(sample: str) -> None:
    out = redact(sample)
    assert len(out) < 9000 and "more characters cut" in out


def test_redaction_still_hides_secrets() -> None:
    assert "hunter2" not in redact('{"newPassword": "hunter2"} SMTP_PASSWORD=hunter2 postgres://u:hunter2@h/db')


@pytest.mark.timeout(60)
async def test_login_with_an_enormous_email_is_a_plain_user_error(api, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await api.execute(LOGIN, {"input": {"email": "a" * 12_000 + "@example.com", "password": "x" * 5000}})
    assert result["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert "errors" not in result


@pytest.mark.parametrize("offset", ["99999999999999999999999", "-5", "x"])
async def test_forged_cursors_give_a_page_not_an_error(api, settings, offset) -> None:
    world = await make_world()
    cursor = base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()
    result = await api.execute(
        "query($after: String) { residences(first: 5, after: $after) { totalCount edges { node { id } } } }",
        {"after": cursor}, token=world.owner.token)
    assert "errors" not in result, result
    assert result["data"]["residences"]["totalCount"] == 1


async def test_invalid_date_variable_is_a_validation_error(api, settings) -> None:
    world = await make_world()
    result = await api.execute(
        "mutation($r: ID!, $d: Date) { createTask(input: {residenceId: $r, title: \"t\", dueDate: $d})"
        " { task { id } } }", {"r": str(world.residence.id), "d": "2024-02-30"}, token=world.owner.token)
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "2024-02-30" in result["errors"][0]["message"]


async def test_expected_errors_are_not_logged_as_errors(api, settings, caplog) -> None:
    world = await make_world()
    with caplog.at_level(logging.INFO):
        result = await api.execute('{ residence(id: "00000000-0000-0000-0000-000000000000") { id } }',
                                   token=world.outsider.token)
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_deleting_the_only_owner_hands_the_home_to_a_member(api, settings) -> None:
    world = await make_world()
    owner = world.owner.user
    owner.password_hash = hash_password("owner password 1")
    await owner.save(update_fields=["password_hash"])
    result = await api.execute(
        'mutation { deleteAccount(input: {password: "owner password 1"}) { ok userErrors { code } } }',
        token=world.owner.token)
    assert result["data"]["deleteAccount"]["ok"] is True
    roles = {m.user_id: m.role for m in await models.Membership.filter(residence_id=world.residence.id)}
    # The editor outranks the viewer, so the editor inherits the home; the viewer stays a viewer.
    assert roles == {world.editor.user.id: ResidenceRole.OWNER, world.viewer.user.id: ResidenceRole.VIEWER}
    share = await api.execute(
        "mutation($i: CreateShareCodeInput!) { createShareCode(input: $i) { code userErrors { code } } }",
        {"i": {"residenceId": str(world.residence.id), "role": "VIEWER"}}, token=world.editor.token)
    assert share["data"]["createShareCode"]["code"]


@pytest.mark.e2e
def test_forged_forwarded_for_does_not_escape_the_address_limit(tmp_path) -> None:
    """Only FORWARDED_ALLOW_IPS proxies may name the client; anyone else's X-Forwarded-For is ignored."""
    import httpx

    from resolvers.login_limits import LOGIN_WINDOW
    from tests.conftest import start_serve, stop_serve
    from tests.wall_clock import wait_clear_of_edge

    server = start_serve(tmp_path, {"FORWARDED_ALLOW_IPS": "10.99.0.0/16", "LOGIN_ATTEMPTS_PER_15MIN": "2"})
    try:
        codes = []
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            # The server counts in 15-minute windows of its own wall clock: all twelve attempts must fall in one.
            wait_clear_of_edge(LOGIN_WINDOW, needed=60)
            for i in range(12):  # the address allows 2 x 5 = 10 attempts per window
                body = http.post("/graphql", headers={"X-Forwarded-For": f"198.51.100.{i}"}, json={
                    "query": LOGIN, "variables": {"input": {"email": f"u{i}@example.com", "password": "wrong!"}},
                }).json()
                codes.append(body["errors"][0]["extensions"]["code"] if "errors" in body
                             else body["data"]["login"]["userErrors"][0]["code"])
        assert codes[:10] == ["INVALID_CREDENTIALS"] * 10 and codes[10:] == ["RATE_LIMITED"] * 2, codes
    finally:
        stop_serve(server)
