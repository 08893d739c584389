"""The APPRISE transport: any Apprise URL (ntfy, Telegram, Discord, Gotify, Matrix, email, ...) via ``apprise``.

Apprise is synchronous: each send runs in a thread, bounded by three times ``DELIVERY_TIMEOUT_SECONDS``
(Apprise's own socket timeouts are set to ``DELIVERY_TIMEOUT_SECONDS``). A thread that overruns is left to
finish on its own (a thread cannot be stopped) and the attempt counts as timed out and is retried.

Apprise answers only "sent" or "not sent", so every failure is retried (no status to tell a permanent one
from a passing one) until ``DELIVERY_MAX_ATTEMPTS``. The host of the URL, where its scheme has one, is
checked by the SSRF guard before each send; unlike the webhook's request, Apprise resolves the name again
itself, so a rebinding between the two is not excluded here (keep ``ALLOW_PRIVATE_WEBHOOKS`` off and use
names you trust).

The text: the title, then the body, then each action as "Title: URL" on a line of its own.
"""

from __future__ import annotations

import asyncio

from honeydue.delivery.channel_urls import apprise_host
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.ssrf import UnresolvedHost, UnsafeUrl, check_host
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.delivery.webhook import open_channel
from honeydue.models import NotificationChannel
from honeydue.settings import Settings


def text_of(message: OutboundMessage) -> str:
    lines = [message.body] if message.body else []
    lines += [f"{action.title}: {action.url}" for action in message.actions]
    return "\n".join(lines) or message.title


def _send(url: str, title: str, body: str, timeout: float) -> bool:
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise PermanentDeliveryError("Apprise no longer understands this URL")
    # Apprise's network plugins read these (socket connect and read timeouts, seconds).
    for name in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, name):
            setattr(plugin, name, timeout)
    return bool(plugin.notify(body=body, title=title))


class AppriseTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def deliver(self, target: object, message: OutboundMessage) -> None:
        assert isinstance(target, NotificationChannel)
        url, _secret = await open_channel(target, self.settings)
        try:
            host, port = apprise_host(url)
            if host:
                await check_host(host, port, allow_private=self.settings.allow_private_webhooks)
        except UnresolvedHost as exc:  # a resolver hiccup passes
            raise RetryableDeliveryError(str(exc)) from None
        except UnsafeUrl as exc:
            raise PermanentDeliveryError(str(exc)) from None
        timeout = self.settings.delivery_timeout_seconds
        try:
            sent = await asyncio.wait_for(
                asyncio.to_thread(_send, url, message.title, text_of(message), timeout), timeout=3 * timeout)
        except TimeoutError:
            raise RetryableDeliveryError("timed out") from None
        if not sent:
            raise RetryableDeliveryError("Apprise could not deliver it (see the worker's log for its reason)")
