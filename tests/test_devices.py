"""Push devices over GraphQL: ``registerDevice`` (idempotent per token, re-binding, validation), ``unregisterDevice``,
``User.devices`` and ``vapidPublicKey``; on PostgreSQL and SQLite (the ``db`` tier)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from honeydue import models
from honeydue.clock import utc_now
from honeydue.delivery.keys import b64url, vapid_raw_private_key
from honeydue.settings import Settings
from resolvers.devices import MAX_DEVICES_PER_USER
from tests.conftest import GraphQLClient, make_settings, tables_referrers_first

REGISTER_DEVICE = """mutation($i: RegisterDeviceInput!) {
  registerDevice(input: $i) { device { id platform createdAt lastSeenAt } userErrors { code field message } } }"""
UNREGISTER_DEVICE = """mutation($i: UnregisterDeviceInput!) {
  unregisterDevice(input: $i) { ok userErrors { code field } } }"""
DEVICES = "{ me { devices { id platform createdAt lastSeenAt } } }"
VAPID = "{ vapidPublicKey }"
APNS_TOKEN = "a1" * 32
FCM_TOKEN = "dGhpcyBpcyBhbiBGQ00gdG9rZW4:APA91bH-example_token.part"
VAPID_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def push_env() -> dict[str, str]:
    """Settings a test adds (VAPID, ALLOW_PRIVATE_WEBHOOKS): parametrize ``push_env`` to give some."""
    return {}


@pytest.fixture
async def settings(database: str, tmp_path: Path, push_env: dict[str, str]) -> AsyncIterator[Settings]:
    """The suite's settings plus ``push_env``; every table emptied afterwards, as the suite's fixture does."""
    yield make_settings(tmp_path, DATABASE_URL=database, **push_env)
    from tortoise import connections

    await connections.get("default").execute_script("; ".join(f'DELETE FROM "{t}"' for t in tables_referrers_first()))


def subscription(endpoint: str = "https://push.example.net/wpush/v2/abc") -> dict:
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": endpoint, "p256dh": b64url(point), "auth": b64url(os.urandom(16))}


async def register(api: GraphQLClient, bearer: str, /, **fields: object) -> dict:
    data = await api.execute(REGISTER_DEVICE, {"i": fields}, token=bearer)
    assert "errors" not in data, data
    return data["data"]["registerDevice"]


async def devices(api: GraphQLClient, token: str) -> list[dict]:
    data = await api.execute(DEVICES, token=token)
    assert "errors" not in data, data
    return data["data"]["me"]["devices"]


async def test_the_same_token_is_the_same_device_refreshed(api: GraphQLClient, make_user, frozen_now) -> None:
    token, _ = await make_user()
    first = await register(api, token, platform="IOS", token=APNS_TOKEN, appVersion="2.1.0", locale="en-US")
    assert first["userErrors"] == []
    device = first["device"]
    assert device["platform"] == "IOS"

    frozen_now.now += timedelta(days=3)
    again = await register(api, token, platform="IOS", token=APNS_TOKEN.upper(), appVersion="2.2.0", locale="de_DE")
    assert again["userErrors"] == []
    assert again["device"]["id"] == device["id"]
    assert again["device"]["lastSeenAt"] > device["lastSeenAt"]
    listed = await devices(api, token)
    assert [d["id"] for d in listed] == [device["id"]]
    row = await models.Device.get(id=device["id"])
    assert (row.app_version, row.locale, row.token) == ("2.2.0", "de-DE", APNS_TOKEN)


async def test_a_token_registered_by_another_user_moves_to_them(api: GraphQLClient, make_user) -> None:
    alice, _ = await make_user()
    bob, bob_user = await make_user()
    mine = (await register(api, alice, platform="ANDROID", token=FCM_TOKEN))["device"]
    theirs = (await register(api, bob, platform="ANDROID", token=FCM_TOKEN))["device"]
    assert theirs["id"] == mine["id"]
    assert await devices(api, alice) == []
    assert [d["id"] for d in await devices(api, bob)] == [mine["id"]]
    assert str((await models.Device.get(id=mine["id"])).user_id) == bob_user["id"]


async def test_a_web_subscription_is_keyed_by_its_endpoint(api: GraphQLClient, make_user) -> None:
    token, _ = await make_user()
    sub = subscription()
    first = await register(api, token, platform="WEB", webPush=sub, locale="fr")
    assert first["userErrors"] == [] and first["device"]["platform"] == "WEB"
    renewed = dict(sub, auth=b64url(os.urandom(16)))  # the same subscription, keys refreshed
    again = await register(api, token, platform="WEB", webPush=renewed)
    assert again["device"]["id"] == first["device"]["id"]
    row = await models.Device.get(id=first["device"]["id"])
    assert (row.token, row.web_push_endpoint, row.web_push_auth) == (sub["endpoint"], sub["endpoint"], renewed["auth"])
    other = await register(api, token, platform="WEB", webPush=subscription("https://push.example.net/wpush/v2/xyz"))
    assert other["device"]["id"] != first["device"]["id"]
    assert len(await devices(api, token)) == 2


BAD_INPUTS = [
    ({"platform": "IOS", "token": "not hex"}, ["token"]),
    ({"platform": "IOS"}, ["token"]),
    ({"platform": "IOS", "token": "ab" * 8}, ["token"]),  # too short for an APNs token
    ({"platform": "ANDROID", "token": "has spaces in it"}, ["token"]),
    ({"platform": "ANDROID", "token": "x" * 4097}, ["token"]),
    ({"platform": "ANDROID", "token": FCM_TOKEN, "webPush": subscription()}, ["webPush"]),
    ({"platform": "WEB"}, ["webPush"]),
    ({"platform": "WEB", "webPush": subscription("http://push.example.net/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://10.1.2.3/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://127.0.0.1:8443/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://169.254.169.254/latest")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://[::1]/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://[::ffff:192.168.1.1]/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://localhost/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://user:pw@push.example.net/x")}, ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": subscription("https://push.example.net/" + "x" * 2048)},
     ["webPush", "endpoint"]),
    ({"platform": "WEB", "webPush": dict(subscription(), p256dh=b64url(b"\x04" + b"\x01" * 64))},  # not on the curve
     ["webPush", "p256dh"]),
    ({"platform": "WEB", "webPush": dict(subscription(), p256dh="!!")}, ["webPush", "p256dh"]),
    ({"platform": "WEB", "webPush": dict(subscription(), auth=b64url(os.urandom(8)))}, ["webPush", "auth"]),
    ({"platform": "IOS", "token": APNS_TOKEN, "appVersion": "9" * 65}, ["appVersion"]),
    ({"platform": "IOS", "token": APNS_TOKEN, "locale": "english please"}, ["locale"]),
]


@pytest.mark.parametrize(("fields", "where"), BAD_INPUTS, ids=[f"{f['platform']}-{'.'.join(w)}-{i}"
                                                              for i, (f, w) in enumerate(BAD_INPUTS)])
async def test_bad_input_is_a_user_error_and_registers_nothing(api: GraphQLClient, make_user, fields: dict,
                                                               where: list[str]) -> None:
    token, _ = await make_user()
    payload = await register(api, token, **fields)
    assert payload["device"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", where)], payload
    assert payload["userErrors"][0]["message"]
    assert await models.Device.all().count() == 0


@pytest.mark.parametrize("push_env", [{"ALLOW_PRIVATE_WEBHOOKS": "true"}])
async def test_private_endpoints_are_accepted_when_the_server_allows_them(api: GraphQLClient, make_user,
                                                                          push_env: dict) -> None:
    token, _ = await make_user()
    payload = await register(api, token, platform="WEB", webPush=subscription("https://127.0.0.1:8443/push/1"))
    assert payload["userErrors"] == []
    http = await register(api, token, platform="WEB", webPush=subscription("http://127.0.0.1:8443/push/2"))
    assert [e["field"] for e in http["userErrors"]] == [["webPush", "endpoint"]]  # still https only


async def test_unregister_forgets_only_your_own_device(api: GraphQLClient, make_user) -> None:
    alice, _ = await make_user()
    bob, _ = await make_user()
    device = (await register(api, alice, platform="IOS", token=APNS_TOKEN))["device"]
    for other in ({"deviceId": device["id"]}, {"deviceId": "not-an-id"}, {"deviceId": str(uuid.uuid4())}):
        data = await api.execute(UNREGISTER_DEVICE, {"i": other}, token=bob)
        assert data["errors"][0]["extensions"]["code"] == "NOT_FOUND", data
    data = await api.execute(UNREGISTER_DEVICE, {"i": {"deviceId": device["id"]}}, token=alice)
    assert data["data"]["unregisterDevice"] == {"ok": True, "userErrors": []}
    assert await devices(api, alice) == []
    again = await api.execute(UNREGISTER_DEVICE, {"i": {"deviceId": device["id"]}}, token=alice)
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_one_device_too_many_replaces_the_one_seen_least_recently(api: GraphQLClient, make_user,
                                                                        frozen_now) -> None:
    token, _ = await make_user()
    ids = []
    for n in range(MAX_DEVICES_PER_USER + 1):
        frozen_now.now += timedelta(minutes=1)
        ids.append((await register(api, token, platform="IOS", token=f"{n:064x}"))["device"]["id"])
    listed = [d["id"] for d in await devices(api, token)]
    assert listed == list(reversed(ids[1:]))  # most recently seen first; the first one is gone
    assert not await models.Device.filter(id=ids[0]).exists()


async def test_a_device_reported_gone_is_hidden_until_registered_again(api: GraphQLClient, make_user) -> None:
    token, _ = await make_user()
    device = (await register(api, token, platform="ANDROID", token=FCM_TOKEN))["device"]
    await models.Device.filter(id=device["id"]).update(dead_at=utc_now(), dead_reason="FCM answered 404: UNREGISTERED")
    assert await devices(api, token) == []
    await register(api, token, platform="ANDROID", token=FCM_TOKEN)
    assert [d["id"] for d in await devices(api, token)] == [device["id"]]
    assert (await models.Device.get(id=device["id"])).dead_at is None


async def test_anonymous_callers_are_unauthenticated(api: GraphQLClient) -> None:
    anonymous = await api.execute(DEVICES)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await api.execute(REGISTER_DEVICE, {"i": {"platform": "IOS", "token": APNS_TOKEN}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_no_vapid_key_configured_is_null(api: GraphQLClient, make_user) -> None:
    token, _ = await make_user()
    assert (await api.execute(VAPID, token=token))["data"] == {"vapidPublicKey": None}
    assert (await api.execute(VAPID))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("push_env", [{"VAPID_PRIVATE_KEY": vapid_raw_private_key(VAPID_KEY),
                                       "VAPID_SUBJECT": "mailto:ops@example.com"}])
async def test_the_vapid_public_key_is_the_configured_keys_public_point(api: GraphQLClient, make_user,
                                                                        push_env: dict) -> None:
    token, _ = await make_user()
    expected = VAPID_KEY.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
    assert (await api.execute(VAPID, token=token))["data"] == {"vapidPublicKey": b64url(expected)}
