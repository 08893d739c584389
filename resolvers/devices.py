"""Push devices: ``registerDevice`` (idempotent per token), ``unregisterDevice``, ``User.devices``.

A device is a push token: an APNs device token (IOS), an FCM registration token (ANDROID) or a browser's
Web Push subscription (WEB, whose token is the subscription endpoint unless the client names one). The same
token registered again is the same device: its lastSeenAt, app version and locale are refreshed, it is
bound to the caller (a phone handed to another account stops notifying the first), and a device the push
service had reported gone is alive again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from tortoise.exceptions import IntegrityError

from honeydue.delivery.addresses import url_problem
from honeydue.delivery.keys import b64url_decode
from honeydue.errors import NotFound
from honeydue.models import Device, DevicePlatform, User
from honeydue.user_errors import InputRejected, UserError, UserErrorCode

MAX_TOKEN_LENGTH = 4096  # FCM tokens are ~160 characters today; Google documents no bound, so leave room
MAX_ENDPOINT_LENGTH = 2048
MAX_APP_VERSION_LENGTH = 64
MAX_LOCALE_LENGTH = 35
# A user's live devices. Registering one more drops the one seen least recently: a reinstall gets a new token
# and nobody unregisters the old, and every reminder goes to every device.
MAX_DEVICES_PER_USER = 20
MAX_DEVICES_LISTED = MAX_DEVICES_PER_USER

APNS_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){16,256}")  # hex; 32 bytes today, Apple reserves longer
FCM_TOKEN = re.compile(r"[A-Za-z0-9_\-:.]+")
LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
APP_VERSION = re.compile(r"[\x21-\x7e][\x20-\x7e]*")  # printable ASCII, no leading space


@dataclass(frozen=True)
class WebPushKeys:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class DeviceInput:
    platform: DevicePlatform
    token: str | None
    web_push: WebPushKeys | None
    app_version: str | None
    locale: str | None


def token_hash(platform: DevicePlatform, token: str) -> str:
    return hashlib.sha256(f"{platform.value}:{token}".encode()).hexdigest()


def _error(message: str, *field: str) -> UserError:
    return UserError(UserErrorCode.INVALID_INPUT, message, list(field))


def _check_web_push(keys: WebPushKeys, allow_private: bool, errors: list[UserError]) -> WebPushKeys:
    endpoint = keys.endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        errors.append(_error(f"The endpoint may be at most {MAX_ENDPOINT_LENGTH} characters.", "webPush",
                             "endpoint"))
    else:
        problem = url_problem(endpoint, allow_private=allow_private)
        if problem:
            errors.append(_error(f"The push endpoint {problem}.", "webPush", "endpoint"))
    p256dh, auth = keys.p256dh.strip(), keys.auth.strip()
    try:
        point = b64url_decode(p256dh) if len(p256dh) <= 128 else b""
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("compressed")
    except (ValueError, TypeError):
        errors.append(_error("p256dh must be the subscription's P-256 public key: 65 bytes (an uncompressed point), "
                             "base64url-encoded, as PushSubscription.getKey('p256dh') gives it.", "webPush",
                             "p256dh"))
    try:
        secret = b64url_decode(auth) if len(auth) <= 64 else b""
    except (ValueError, TypeError):
        secret = b""
    if len(secret) != 16:
        errors.append(_error("auth must be the subscription's 16-byte authentication secret, base64url-encoded, "
                             "as PushSubscription.getKey('auth') gives it.", "webPush", "auth"))
    return WebPushKeys(endpoint=endpoint, p256dh=p256dh, auth=auth)


def checked_input(data: DeviceInput, *, allow_private: bool) -> DeviceInput:
    """The input with blanks trimmed away, or every problem at once as user errors."""
    errors: list[UserError] = []
    token = (data.token or "").strip() or None
    web_push = data.web_push
    if token is not None and len(token) > MAX_TOKEN_LENGTH:
        errors.append(_error(f"The token may be at most {MAX_TOKEN_LENGTH} characters.", "token"))
    elif data.platform is DevicePlatform.IOS:
        if token is None or not APNS_TOKEN.fullmatch(token):
            errors.append(_error("An IOS token is the APNs device token in hexadecimal (64 digits today).", "token"))
        token = token.lower() if token else token
    elif data.platform is DevicePlatform.ANDROID:
        if token is None or not FCM_TOKEN.fullmatch(token):
            errors.append(_error("An ANDROID token is the FCM registration token (letters, digits, - _ : .).",
                                 "token"))
    elif token is not None and not token.isprintable():
        errors.append(_error("The token may hold no control characters.", "token"))
    if data.platform is DevicePlatform.WEB:
        if web_push is None:
            errors.append(_error("A WEB device needs webPush: the PushSubscription's endpoint and keys.", "webPush"))
        else:
            web_push = _check_web_push(web_push, allow_private, errors)
            token = token or web_push.endpoint
    elif web_push is not None:
        errors.append(_error("webPush is only for WEB devices.", "webPush"))
    app_version = (data.app_version or "").strip() or None
    too_long = app_version is not None and len(app_version) > MAX_APP_VERSION_LENGTH
    if app_version is not None and (too_long or not APP_VERSION.fullmatch(app_version)):
        errors.append(_error(f"appVersion is at most {MAX_APP_VERSION_LENGTH} printable ASCII characters.",
                             "appVersion"))
    locale = (data.locale or "").strip() or None
    if locale is not None and (len(locale) > MAX_LOCALE_LENGTH or not LOCALE.fullmatch(locale)):
        errors.append(_error(f"locale is a language tag such as en-US, at most {MAX_LOCALE_LENGTH} characters.",
                             "locale"))
    if errors:
        raise InputRejected(*errors)
    return DeviceInput(platform=data.platform, token=token, web_push=web_push, app_version=app_version,
                       locale=locale.replace("_", "-") if locale else None)


async def register_device(user: User, data: DeviceInput, *, now: datetime, allow_private: bool) -> Device:
    """Create the device, or refresh and re-bind the one with this token; at most MAX_DEVICES_PER_USER live."""
    data = checked_input(data, allow_private=allow_private)
    assert data.token is not None
    key = token_hash(data.platform, data.token)
    web = data.web_push
    columns: dict[str, Any] = {
        "user_id": user.id, "platform": data.platform, "token": data.token, "last_seen_at": now,
        "app_version": data.app_version, "locale": data.locale, "dead_at": None, "dead_reason": None,
        "web_push_endpoint": web.endpoint if web else None, "web_push_p256dh": web.p256dh if web else None,
        "web_push_auth": web.auth if web else None,
    }
    # Update first, create when there is none; two first registrations racing meet on the unique token_hash,
    # and the loser updates the winner's row.
    if not await Device.filter(token_hash=key).update(**columns):
        try:
            await Device.create(token_hash=key, **columns)
        except IntegrityError:
            await Device.filter(token_hash=key).update(**columns)
    device = await Device.get(token_hash=key)
    await _drop_stalest(user.id, keep=device.id)
    return device


async def _drop_stalest(user_id: uuid.UUID, keep: uuid.UUID) -> None:
    live = Device.filter(user_id=user_id, dead_at__isnull=True)
    surplus = await live.count() - MAX_DEVICES_PER_USER
    if surplus > 0:
        stale = await live.exclude(id=keep).order_by("last_seen_at", "id").limit(surplus).values_list("id", flat=True)
        await Device.filter(id__in=list(stale)).delete()


async def unregister_device(user: User, device_id: uuid.UUID) -> None:
    """Forget one of the caller's devices; anyone else's, or an unknown id, is NOT_FOUND."""
    if not await Device.filter(id=device_id, user_id=user.id).delete():
        raise NotFound("No such device.")


async def live_devices(user_id: uuid.UUID) -> list[Device]:
    """The user's devices that push still reaches, most recently seen first."""
    return await Device.filter(user_id=user_id, dead_at__isnull=True).order_by("-last_seen_at", "-id").limit(
        MAX_DEVICES_LISTED)
