"""Which URLs a notification channel may use: the check made when it is added and again at each send.

A WEBHOOK URL must be ``https://`` (``http://`` only with ``ALLOW_PRIVATE_WEBHOOKS=true``, for a receiver on
the LAN): its body carries action links that act without a session. An APPRISE URL must be one the
``apprise`` library understands; where its scheme names a host (``json://``, ``ntfys://``, ``gotify://``,
``mailto://``, ...) that host is checked like a webhook's, while schemes that name only a service and its
token (``tgram://``, ``discord://``) reach that service's fixed public host. Hosts go through the SSRF guard
(``honeydue.delivery.ssrf``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from honeydue.delivery.ssrf import UnsafeUrl, check_host, check_url
from honeydue.models import NotificationChannelKind
from honeydue.settings import Settings


def url_hint(url: str) -> str:
    """What the API shows of a URL: its scheme and host (the rest may hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"[:300]


def apprise_host(url: str) -> tuple[str | None, int | None]:
    """The host an Apprise URL's scheme sends to, when it names one; ``UnsafeUrl`` when Apprise cannot read it."""
    import apprise  # imported on use: it loads every service plugin

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise UnsafeUrl("Apprise does not understand this URL (see the Apprise wiki for each service's form).")
    if "host" not in getattr(plugin, "template_tokens", {}):
        return None, None
    return (getattr(plugin, "host", None) or None), getattr(plugin, "port", None)


async def check_channel_url(kind: NotificationChannelKind, url: str, settings: Settings) -> None:
    """Refuse (``UnsafeUrl``, saying why) a URL a channel of ``kind`` may not use."""
    allow = settings.allow_private_webhooks
    if kind is NotificationChannelKind.WEBHOOK:
        scheme = urlsplit(url).scheme.lower()
        if scheme != "https" and not (scheme == "http" and allow):
            raise UnsafeUrl("A webhook URL must start with https:// (http:// only with ALLOW_PRIVATE_WEBHOOKS=true).")
        await check_url(url, allow_private=allow)
        return
    host, port = apprise_host(url)
    if host:
        await check_host(host, port, allow_private=allow)
