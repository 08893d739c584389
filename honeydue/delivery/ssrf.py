"""The SSRF guard for channel URLs (webhooks, Apprise): no requests into the cluster or the host.

A URL is refused when its host is, or resolves to, any address that is not public (what counts is
``honeydue.delivery.addresses.address_problem``, shared with Web Push endpoints): loopback, link-local
(cloud metadata at 169.254.169.254), private (RFC 1918, fc00::/7), shared (100.64/10), multicast, reserved,
unspecified, and IPv4-mapped IPv6 forms of those. Every address a name resolves to is checked, since a
client may connect to any of them. The check runs when a channel is added and again right before each
send, so a name that later resolves inward (DNS rebinding) is caught. It hands back the addresses it
checked: the webhook and Web Push transports connect to exactly those (``honeydue.delivery.webhook``,
``honeydue.delivery.webpush``), so a second resolution cannot swap them.

``ALLOW_PRIVATE_WEBHOOKS=true`` turns the guard off (a receiver on your LAN; the tests' local servers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from honeydue.delivery.addresses import address_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A mutation waits for this lookup: a resolver that does not answer must not hold the request.
RESOLVE_TIMEOUT_SECONDS = 5.0


class UnsafeUrl(Exception):
    """The URL may not be used; ``str(exc)`` says why, for the user."""


class UnresolvedHost(UnsafeUrl):
    """The host did not resolve (now): refused when a channel is added, retried when a delivery is sent."""


@dataclass(frozen=True)
class CheckedHost:
    host: str
    port: int | None
    addresses: tuple[str, ...]  # what the host resolved to, all of them allowed (empty when the guard is off)


async def _getaddrinfo(host: str, port: int, **kwargs: object) -> list:
    return await asyncio.get_running_loop().getaddrinfo(host, port, **kwargs)  # type: ignore[arg-type]


async def resolve(host: str, port: int | None) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = await asyncio.wait_for(_getaddrinfo(host, port or 443, type=socket.SOCK_STREAM),
                                       RESOLVE_TIMEOUT_SECONDS)
    except (socket.gaierror, TimeoutError) as exc:
        raise UnresolvedHost(f"The host {host} could not be resolved.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_host(host: str, port: int | None, *, allow_private: bool) -> CheckedHost:
    """Resolve ``host`` and refuse it unless every address is public (or ``allow_private``)."""
    if not host:
        raise UnsafeUrl("The URL has no host.")
    addresses = await resolve(host, port)
    if not allow_private:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if address_problem(address) is not None:
                raise UnsafeUrl(f"The host {host} resolves to a private, loopback or link-local address "
                                f"({address}); such URLs are refused unless ALLOW_PRIVATE_WEBHOOKS=true.")
    return CheckedHost(host, port, tuple(addresses))


async def check_url(url: str, *, allow_private: bool) -> CheckedHost:
    """Check an http(s) URL's host (``UnsafeUrl`` when refused)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The URL's port is not a number from 0 to 65535.") from exc
    return await check_host(parts.hostname or "", port, allow_private=allow_private)
