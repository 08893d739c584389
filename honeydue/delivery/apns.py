"""APNs (Apple Push Notification service): HTTP/2 with token-based authentication.

Each request is ``POST /3/device/<token>`` to ``api.push.apple.com`` (``APNS_ENVIRONMENT=production``) or
``api.sandbox.push.apple.com`` (``sandbox``) over HTTP/2 (httpx with h2; APNs accepts nothing else), carrying

* ``authorization: bearer <JWT>``: ES256 over ``{"alg": "ES256", "kid": APNS_KEY_ID}`` and
  ``{"iss": APNS_TEAM_ID, "iat": now}`` with the .p8 key. APNs refuses a token older than an hour and one
  refreshed more often than every 20 minutes, so one JWT is reused for 50 minutes, then minted again;
* ``apns-topic`` (the bundle ID), ``apns-push-type: alert``, ``apns-priority: 10``, ``apns-expiration`` (a day
  on: an offline phone still gets the reminder) and ``apns-collapse-id`` (the delivery id: a retried send
  replaces, not repeats, the notification).

The payload: ``aps.alert {title, body}``, the default sound, ``thread-id`` (the task, so a task's reminders
group) and, when the message has actions, ``category: HONEYDUE_TASK`` (the iOS app registers that category
with its Done and Snooze buttons); beside ``aps``: ``deliveryId``, ``notificationType``, ``task`` and
``actions [{id, title, url}]`` (the signed action URLs, which act on a bare POST).

Answers: 200 sent; 410 (``Unregistered``, ``ExpiredToken``) the token is gone: the device is marked dead;
429 and 5xx retried honouring ``Retry-After``; 403 ``ExpiredProviderToken`` mints a new JWT and retries;
anything else (``BadDeviceToken`` from the wrong environment, ``TopicDisallowed``, ``PayloadTooLarge``) fails
the delivery and leaves the device alone: a configuration mistake must not kill every device.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from honeydue.delivery.http_client import LoopClient
from honeydue.delivery.http_outcome import RETRYABLE_EXCEPTIONS, raise_for_outcome, short
from honeydue.delivery.keys import load_ec_private_key
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.settings import Settings

HOSTS = {"production": "https://api.push.apple.com", "sandbox": "https://api.sandbox.push.apple.com"}
JWT_REUSE_SECONDS = 50 * 60
EXPIRATION_SECONDS = 24 * 3600
CATEGORY = "HONEYDUE_TASK"  # the UNNotificationCategory with the Done and Snooze actions
MAX_PAYLOAD_BYTES = 4096  # APNs refuses larger alerts (413)


def payload(message: OutboundMessage) -> dict[str, Any]:
    """The APNs JSON for ``message``; a body too long for 4 KB is shortened, never the action URLs."""
    aps: dict[str, Any] = {"alert": {"title": message.title, "body": message.body}, "sound": "default",
                           "thread-id": message.task.id if message.task else message.notification_type}
    if message.actions:
        aps["category"] = CATEGORY
    data = {
        "aps": aps, "deliveryId": message.delivery_id, "notificationType": message.notification_type,
        "task": None if message.task is None else {"id": message.task.id, "title": message.task.title},
        "actions": [{"id": a.id, "title": a.title, "url": a.url} for a in message.actions],
    }
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > MAX_PAYLOAD_BYTES:
        body = message.body.encode()[: max(0, len(message.body.encode()) - (size - MAX_PAYLOAD_BYTES) - 3)]
        aps["alert"]["body"] = body.decode(errors="ignore") + "…"
    return data


class APNsTransport:
    """Sends to ``Device`` rows of platform IOS (their ``token``, the APNs device token in hex)."""

    def __init__(self, key_id: str, team_id: str, private_key: ec.EllipticCurvePrivateKey, topic: str, *,
                 environment: str = "production", base_url: str | None = None, timeout: float = 10.0,
                 verify: Any = True) -> None:
        self._key_id, self._team_id, self._key, self._topic = key_id, team_id, private_key, topic
        self.base_url = (base_url or HOSTS[environment]).rstrip("/")
        self._jwt: tuple[str, float] | None = None
        self._client = LoopClient(lambda: httpx.AsyncClient(
            http2=True, timeout=httpx.Timeout(timeout), verify=verify, follow_redirects=False))

    @classmethod
    def from_settings(cls, settings: Settings) -> APNsTransport | None:
        if not (settings.apns_key_id and settings.apns_team_id and settings.apns_private_key and settings.apns_topic):
            return None
        key = load_ec_private_key(settings.apns_private_key, "APNS_PRIVATE_KEY")
        return cls(settings.apns_key_id, settings.apns_team_id, key, settings.apns_topic,
                   environment=settings.apns_environment, timeout=settings.delivery_timeout_seconds)

    def provider_token(self) -> str:
        """The cached provider JWT, minted anew when 50 minutes old."""
        now = time.time()
        if self._jwt is None or now - self._jwt[1] >= JWT_REUSE_SECONDS:
            token = jwt.encode({"iss": self._team_id, "iat": int(now)}, self._key, algorithm="ES256",
                               headers={"kid": self._key_id})
            self._jwt = (token, now)
        return self._jwt[0]

    def headers(self, message: OutboundMessage) -> dict[str, str]:
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self._topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-expiration": str(int(time.time()) + EXPIRATION_SECONDS),
            "apns-collapse-id": message.delivery_id[:64],
        }
        try:
            headers["apns-id"] = str(uuid.UUID(message.delivery_id))  # APNs echoes it; must be a UUID
        except ValueError:
            pass
        return headers

    async def deliver(self, target: Any, message: OutboundMessage) -> None:
        token = getattr(target, "token", None)
        if not token:
            raise PermanentDeliveryError("not an APNs device (no token)")
        body = json.dumps(payload(message), separators=(",", ":")).encode()
        try:
            response = await self._client.get().post(f"{self.base_url}/3/device/{token}", content=body,
                                                     headers=self.headers(message))
        except RETRYABLE_EXCEPTIONS as exc:
            raise RetryableDeliveryError(short(f"APNs: {type(exc).__name__}: {exc}")) from None
        reason = _reason(response)
        if response.status_code == 403 and reason == "ExpiredProviderToken":
            self._jwt = None  # our JWT aged out (a clock jump, a long pause): mint a new one for the retry
            raise RetryableDeliveryError("APNs answered 403: ExpiredProviderToken")
        raise_for_outcome("APNs", response, gone=(410,), reason=reason)

    async def aclose(self) -> None:
        await self._client.aclose()


def _reason(response: httpx.Response) -> str:
    if response.status_code == 200:
        return ""
    try:
        return str(response.json().get("reason", ""))
    except ValueError:
        return response.text
