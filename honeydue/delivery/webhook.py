"""The WEBHOOK transport: a signed JSON POST of ``OutboundMessage.webhook_body()``.

Headers: ``Content-Type: application/json``, ``X-Honeydue-Event`` (the event), ``X-Honeydue-Delivery`` (the
delivery id, also ``deliveryId`` in the body: receivers dedupe on it, since a retry after a lost answer
sends the same delivery again) and ``X-Honeydue-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed
with the UTF-8 bytes of the channel's secret>``.

Answers: 2xx delivered; 410 the target is gone (the channel is marked dead); 429, 408 and 5xx retried,
honouring ``Retry-After`` (seconds or an HTTP date); any other answer (a redirect too: none is followed) fails
the delivery. Timeouts and connection errors are retried.

The URL's host is resolved and checked by the SSRF guard before each send, and the request goes to the
address that was checked (the Host header and TLS SNI still name the host, so certificates are verified
against it): a DNS answer that changes between the check and the connection cannot redirect it inward.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from urllib.parse import urlsplit, urlunsplit

import httpx

from honeydue.delivery.http_outcome import retry_after_seconds
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.sealing import SealError, open_sealed, seal
from honeydue.delivery.ssrf import UnresolvedHost, UnsafeUrl, check_url
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.models import NotificationChannel
from honeydue.settings import Settings

SIGNATURE_HEADER = "X-Honeydue-Signature"
EVENT_HEADER = "X-Honeydue-Event"
DELIVERY_HEADER = "X-Honeydue-Delivery"
USER_AGENT = "honeydue-webhook/1"


def body_bytes(message: OutboundMessage) -> bytes:
    """The raw body that is signed and sent: compact UTF-8 JSON."""
    return json.dumps(message.webhook_body(), separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def open_channel(channel: NotificationChannel, settings: Settings) -> tuple[str, str]:
    """The channel's URL and secret; re-sealed under the current key when a previous one opened them."""
    keys = settings.signing_keys()
    try:
        url, old_url = open_sealed(keys, channel.url_sealed, str(channel.id))
        secret, old_secret = open_sealed(keys, channel.secret_sealed, str(channel.id))
    except SealError as exc:
        raise PermanentDeliveryError(str(exc)) from None
    if old_url or old_secret:
        channel.url_sealed = seal(keys, url, str(channel.id))
        channel.secret_sealed = seal(keys, secret, str(channel.id))
        await channel.save(update_fields=["url_sealed", "secret_sealed"])
    return url, secret


def pinned(url: str, address: str) -> tuple[str, str]:
    """``url`` with its host replaced by ``address``, and the Host header value it needs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = (f"[{host}]" if ":" in host else host) + ("" if parts.port is None else f":{parts.port}")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header


class WebhookTransport:
    def __init__(self, settings: Settings, *, verify: ssl.SSLContext | bool = True) -> None:
        self.settings = settings
        self.verify = verify  # the system's CAs; tests trust their own

    async def deliver(self, target: object, message: OutboundMessage) -> None:
        assert isinstance(target, NotificationChannel)
        url, secret = await open_channel(target, self.settings)
        try:
            checked = await check_url(url, allow_private=self.settings.allow_private_webhooks)
        except UnresolvedHost as exc:  # a resolver hiccup passes
            raise RetryableDeliveryError(str(exc)) from None
        except UnsafeUrl as exc:
            raise PermanentDeliveryError(str(exc)) from None
        body = body_bytes(message)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_HEADER: message.event,
                   DELIVERY_HEADER: message.delivery_id, SIGNATURE_HEADER: signature(secret, body)}
        request_url, extensions = url, {}
        if not self.settings.allow_private_webhooks:
            # Connect to the address just checked; the host still names itself in Host and in TLS.
            request_url, headers["Host"] = pinned(url, checked.addresses[0])
            extensions = {"sni_hostname": checked.host}
        try:
            async with httpx.AsyncClient(timeout=self.settings.delivery_timeout_seconds, follow_redirects=False,
                                         trust_env=False, verify=self.verify) as client:
                response = await client.post(request_url, content=body, headers=headers, extensions=extensions)
        except httpx.TimeoutException:
            raise RetryableDeliveryError("timed out") from None
        except httpx.TransportError as exc:
            raise RetryableDeliveryError(f"could not connect: {exc.__class__.__name__}: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"{status} {response.reason_phrase}".strip()
        if status == 410:
            raise PermanentDeliveryError(reason, target_gone=True)
        if status in (408, 429) or status >= 500:
            raise RetryableDeliveryError(reason, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        raise PermanentDeliveryError(reason)
