"""Accounts over GraphQL: register, login, logout, me, profile, password, delete."""

from __future__ import annotations

import pytest

from honeydue.models import AccountPurge, AuthToken, User
from tests.conftest import REGISTER

LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { token user { id email } userErrors { field code message } } }"""
ME = "{ me { id email displayName isAdmin avatar { id } } }"
LOGOUT = "mutation { logout { ok } }"
CHANGE = """mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { ok userErrors { field code } } }"""
UPDATE = """mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { displayName } userErrors { field code } } }"""
DELETE = """mutation($input: DeleteAccountInput!) {
  deleteAccount(input: $input) { ok userErrors { field code } } }"""

PASSWORD = "correct horse battery"


def error_code(result: dict) -> str:
    return result["errors"][0]["extensions"]["code"]


async def test_register_login_me(api, make_user) -> None:
    token, user = await make_user("Alice@Example.COM ", name="Alice")
    assert user["email"] == "alice@example.com"
    me = await api.execute(ME, token=token)
    assert me["data"]["me"] == {"id": user["id"], "email": "alice@example.com", "displayName": "Alice",
                                "isAdmin": False, "avatar": None}
    login = await api.execute(LOGIN, {"input": {"email": "ALICE@example.com", "password": PASSWORD}})
    assert login["data"]["login"]["userErrors"] == []
    assert login["data"]["login"]["token"] != token
    assert (await api.execute(ME, token=login["data"]["login"]["token"]))["data"]["me"]["id"] == user["id"]


@pytest.mark.parametrize(
    ("email", "password", "name", "code", "field"),
    [
        ("not-an-email", PASSWORD, "A", "INVALID_EMAIL", "email"),
        ("a b@example.com", PASSWORD, "A", "INVALID_EMAIL", "email"),
        ("", PASSWORD, "A", "INVALID_EMAIL", "email"),
        ("x@example.com", "", "A", "WEAK_PASSWORD", "password"),
        ("x@example.com", "short", "A", "WEAK_PASSWORD", "password"),
        ("x@example.com", "aaaaaaaaaaaa", "A", "WEAK_PASSWORD", "password"),
        ("x@example.com", "          ", "A", "WEAK_PASSWORD", "password"),
        ("x@example.com", PASSWORD, "  ", "INVALID_INPUT", "displayName"),
    ],
)
async def test_register_rejects_bad_input(api, email, password, name, code, field) -> None:
    result = await api.execute(REGISTER, {"input": {"email": email, "password": password, "displayName": name}})
    payload = result["data"]["register"]
    assert payload["token"] is None
    assert payload["userErrors"] == [{"field": [field], "message": payload["userErrors"][0]["message"],
                                      "code": code}]
    assert await User.all().count() == 0


async def test_duplicate_email_is_a_user_error(api, make_user) -> None:
    await make_user("dup@example.com")
    result = await api.execute(REGISTER, {"input": {"email": "DUP@example.com", "password": PASSWORD,
                                                    "displayName": "B"}})
    assert result["data"]["register"]["userErrors"][0]["code"] == "EMAIL_TAKEN"
    assert await User.filter(email="dup@example.com").count() == 1


async def test_wrong_password_and_unknown_email_look_the_same(api, make_user) -> None:
    await make_user("bob@example.com")
    wrong = await api.execute(LOGIN, {"input": {"email": "bob@example.com", "password": "wrong password!"}})
    unknown = await api.execute(LOGIN, {"input": {"email": "nobody@example.com", "password": PASSWORD}})
    assert wrong["data"]["login"]["userErrors"] == unknown["data"]["login"]["userErrors"]
    assert wrong["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_login_is_rate_limited_per_email_and_address(api, make_user, settings) -> None:
    await make_user("carol@example.com")
    bad = {"input": {"email": "carol@example.com", "password": "wrong password!"}}
    for _ in range(settings.login_attempts_per_15min):
        result = await api.execute(LOGIN, bad)
        assert result["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    limited = await api.execute(LOGIN, {"input": {"email": "carol@example.com", "password": PASSWORD}})
    assert error_code(limited) == "RATE_LIMITED"


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_login_rate_limit_uses_redis_when_configured(api_app, api, make_user, redis_client) -> None:
    from dataclasses import replace

    from honeydue.ratelimit import RateLimiter
    from honeydue.services import attach_services, services_of

    services = replace(services_of(api_app), rate_limiter=RateLimiter(redis_client))
    attach_services(api_app, services)
    await make_user("dave@example.com")
    bad = {"input": {"email": "dave@example.com", "password": "wrong password!"}}
    for _ in range(services.settings.login_attempts_per_15min):
        await api.execute(LOGIN, bad)
    assert error_code(await api.execute(LOGIN, bad)) == "RATE_LIMITED"
    keys = [k.decode() async for k in redis_client.scan_iter("honeydue:rl:login:fail:*")]
    assert len(keys) == 3 and not [k for k in keys if "dave" in k], keys  # pair, address, email (a digest)


@pytest.mark.parametrize("query", [ME, LOGOUT, 'mutation { updateProfile(input: {displayName: "x"}) { user { id } } }'])
async def test_protected_fields_need_a_token(api, query) -> None:
    assert error_code(await api.execute(query)) == "UNAUTHENTICATED"
    assert error_code(await api.execute(query, token="hd_forged")) == "UNAUTHENTICATED"


async def test_logout_revokes_the_token(api, make_user) -> None:
    token, _ = await make_user()
    assert (await api.execute(LOGOUT, token=token))["data"]["logout"]["ok"] is True
    assert error_code(await api.execute(ME, token=token)) == "UNAUTHENTICATED"


async def test_expired_token_is_refused(api, make_user) -> None:
    from datetime import UTC, datetime, timedelta

    token, _ = await make_user()
    await AuthToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert error_code(await api.execute(ME, token=token)) == "UNAUTHENTICATED"


async def test_tokens_are_stored_hashed(make_user) -> None:
    token, _ = await make_user()
    stored = await AuthToken.all().values_list("token_hash", flat=True)
    assert token not in stored and len(stored[0]) == 64


async def test_update_profile(api, make_user) -> None:
    token, _ = await make_user()
    result = await api.execute(UPDATE, {"input": {"displayName": "New Name"}}, token=token)
    assert result["data"]["updateProfile"] == {"user": {"displayName": "New Name"}, "userErrors": []}
    bad = await api.execute(UPDATE, {"input": {"displayName": "x" * 101}}, token=token)
    assert bad["data"]["updateProfile"]["userErrors"][0]["code"] == "INVALID_INPUT"
    # A malformed avatar ID is answered as an unknown one (it was NOT_FOUND, unlike any missing file).
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        foreign = await api.execute(UPDATE, {"input": {"avatarId": unknown}}, token=token)
        assert foreign["data"]["updateProfile"] == {
            "user": None, "userErrors": [{"field": ["avatarId"], "code": "MEDIA_NOT_ALLOWED"}]}


async def test_change_password_ends_other_sessions(api, make_user) -> None:
    token, user = await make_user("erin@example.com")
    other = (await api.execute(LOGIN, {"input": {"email": user["email"], "password": PASSWORD}}))
    other_token = other["data"]["login"]["token"]
    wrong = await api.execute(CHANGE, {"input": {"currentPassword": "nope nope nope", "newPassword": "a new secret"}},
                              token=token)
    assert wrong["data"]["changePassword"]["userErrors"][0]["code"] == "WRONG_PASSWORD"
    weak = await api.execute(CHANGE, {"input": {"currentPassword": PASSWORD, "newPassword": "short"}}, token=token)
    assert weak["data"]["changePassword"]["userErrors"][0]["code"] == "WEAK_PASSWORD"
    ok = await api.execute(CHANGE, {"input": {"currentPassword": PASSWORD, "newPassword": "a new secret"}},
                           token=token)
    assert ok["data"]["changePassword"] == {"ok": True, "userErrors": []}
    assert (await api.execute(ME, token=token))["data"]["me"]["id"] == user["id"]
    assert error_code(await api.execute(ME, token=other_token)) == "UNAUTHENTICATED"
    relogin = await api.execute(LOGIN, {"input": {"email": user["email"], "password": "a new secret"}})
    assert relogin["data"]["login"]["token"]


async def test_delete_account_removes_user_and_leaves_purge_record(api, make_user) -> None:
    token, user = await make_user()
    wrong = await api.execute(DELETE, {"input": {"password": "not my password"}}, token=token)
    assert wrong["data"]["deleteAccount"]["userErrors"][0]["code"] == "WRONG_PASSWORD"
    assert await User.filter(id=user["id"]).exists()
    ok = await api.execute(DELETE, {"input": {"password": PASSWORD}}, token=token)
    assert ok["data"]["deleteAccount"] == {"ok": True, "userErrors": []}
    assert not await User.filter(id=user["id"]).exists()
    purge = await AccountPurge.get(user_id=user["id"])
    assert f"users/{user['id']}/" in purge.prefixes and purge.done_at is None
    assert error_code(await api.execute(ME, token=token)) == "UNAUTHENTICATED"
    again = await api.execute(LOGIN, {"input": {"email": user["email"], "password": PASSWORD}})
    assert again["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_unexpected_errors_are_masked(api, make_user, monkeypatch, caplog) -> None:
    from resolvers import accounts

    async def broken(*args, **kwargs):
        raise RuntimeError("secret detail from the database")

    monkeypatch.setattr(accounts, "update_profile", broken)
    token, _ = await make_user()
    result = await api.execute(UPDATE, {"input": {"displayName": "x"}}, token=token)
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert "secret detail" not in str(result)
    assert "secret detail" in caplog.text


async def test_validation_errors_stay_visible(api) -> None:
    result = await api.execute("{ me { noSuchField } }")
    assert "noSuchField" in result["errors"][0]["message"]
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
