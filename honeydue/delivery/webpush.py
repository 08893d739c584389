"""Web Push (RFC 8030) to browsers: the payload encrypted for the subscription (RFC 8291, aes128gcm) and the
request signed with VAPID (RFC 8292).

The payload is the webhook JSON (``OutboundMessage.webhook_body()``), so a service worker reads the same
``notification``, ``task`` and ``actions`` (with their signed URLs) a webhook consumer does. ``pywebpush``
encrypts it; the VAPID JWT (ES256, ``aud`` the push service's origin, ``exp`` 12 hours on, ``sub``
``VAPID_SUBJECT``) is signed here and reused per origin for an hour; httpx sends, without following redirects.

Outcomes: 201 delivered; 404 and 410 mean the subscription is gone (the device is marked dead); 429 and 5xx
are retried honouring ``Retry-After``; other statuses (400, 403 a VAPID problem, 413 too large) fail the
delivery. Before each send the endpoint's host is resolved and every address checked (``ssrf.check_url``), and
the request connects to a checked address (TLS still verifies the host name), as webhooks do.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher

from honeydue.delivery.http_client import LoopClient
from honeydue.delivery.http_outcome import RETRYABLE_EXCEPTIONS, raise_for_outcome, short
from honeydue.delivery.keys import load_ec_private_key, vapid_public_key
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.ssrf import UnresolvedHost, UnsafeUrl, check_url
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.delivery.webhook import pinned
from honeydue.settings import Settings

log = logging.getLogger(__name__)

JWT_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows at most 24 hours
JWT_REUSE_SECONDS = 3600
DEFAULT_TTL_SECONDS = 24 * 3600  # how long the push service keeps a message for an offline browser


def load_vapid_key(settings: Settings) -> ec.EllipticCurvePrivateKey | None:
    """The VAPID private key of the settings, None when Web Push is off; ``KeyProblem`` when it does not parse."""
    if not settings.vapid_private_key:
        return None
    return load_ec_private_key(settings.vapid_private_key, "VAPID_PRIVATE_KEY", raw_allowed=True)


class WebPushTransport:
    """Sends to ``Device`` rows of platform WEB (their ``web_push_*`` columns)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, subject: str, *, allow_private: bool = False,
                 ttl_seconds: int = DEFAULT_TTL_SECONDS, timeout: float = 10.0, verify: Any = True) -> None:
        self._key = private_key
        self._public_key = vapid_public_key(private_key)
        self._subject = subject
        self._allow_private = allow_private
        self._ttl = ttl_seconds
        self._jwts: dict[str, tuple[str, float]] = {}  # origin -> (token, minted at)
        # No proxies from the environment: the request must go to the address that was checked. The CAs are
        # still the environment's (SSL_CERT_FILE / SSL_CERT_DIR, else certifi's), as for the other transports.
        context = httpx.create_ssl_context(trust_env=True) if verify is True else verify
        self._client = LoopClient(lambda: httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False,
                                                            verify=context, trust_env=False))

    @classmethod
    def from_settings(cls, settings: Settings) -> WebPushTransport | None:
        key = load_vapid_key(settings)
        if key is None or not settings.vapid_subject:
            return None
        return cls(key, settings.vapid_subject, allow_private=settings.allow_private_webhooks,
                   timeout=settings.delivery_timeout_seconds)

    def authorization(self, endpoint: str) -> str:
        """The RFC 8292 ``Authorization: vapid t=<JWT>, k=<public key>`` header for ``endpoint``'s origin."""
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._jwts.get(origin)
        now = time.time()
        if cached is None or now - cached[1] > JWT_REUSE_SECONDS:
            claims = {"aud": origin, "exp": int(now) + JWT_LIFETIME_SECONDS, "sub": self._subject}
            cached = (jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"}), now)
            self._jwts[origin] = cached
        return f"vapid t={cached[0]}, k={self._public_key}"

    def encrypt(self, target: Any, payload: bytes) -> bytes:
        subscription = {"endpoint": target.web_push_endpoint,
                        "keys": {"p256dh": target.web_push_p256dh, "auth": target.web_push_auth}}
        return bytes(WebPusher(subscription).encode(payload, "aes128gcm")["body"])

    async def deliver(self, target: Any, message: OutboundMessage) -> None:
        endpoint = getattr(target, "web_push_endpoint", None)
        if not endpoint:
            raise PermanentDeliveryError("not a Web Push device (no subscription endpoint)")
        try:
            checked = await check_url(endpoint, allow_private=self._allow_private)
        except UnresolvedHost as exc:
            raise RetryableDeliveryError(f"push endpoint: {exc}") from None  # DNS may answer next time
        except UnsafeUrl as exc:
            raise PermanentDeliveryError(f"push endpoint refused: {exc}") from None
        body = self.encrypt(target, json.dumps(message.webhook_body(), separators=(",", ":")).encode())
        headers = {
            "Authorization": self.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self._ttl),
            "Urgency": "normal",
        }
        request_url, extensions = endpoint, {}
        if not self._allow_private and checked.addresses:
            # Connect to the address just checked; the host still names itself in Host and in TLS (SNI and the
            # certificate check), so a second resolution cannot swap in an inside address.
            request_url, headers["Host"] = pinned(endpoint, checked.addresses[0])
            extensions = {"sni_hostname": checked.host}
        try:
            response = await self._client.get().post(request_url, content=body, headers=headers,
                                                     extensions=extensions)
        except RETRYABLE_EXCEPTIONS as exc:
            raise RetryableDeliveryError(short(f"Web Push: {type(exc).__name__}: {exc}")) from None
        raise_for_outcome("Web Push service", response, gone=(404, 410), reason=response.text)

    async def aclose(self) -> None:
        await self._client.aclose()
