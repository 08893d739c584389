"""Where outgoing deliveries may go: the SSRF guard shared by Web Push endpoints, webhooks and Apprise URLs.

A URL a user hands us (a browser's push endpoint, a webhook) is fetched by our workers from inside the
cluster. Pointed at loopback, link-local (cloud metadata at 169.254.169.254), private or otherwise
non-global addresses it would reach services no user should reach, so those are refused unless
``ALLOW_PRIVATE_WEBHOOKS=true`` (tests and single-machine installs whose receivers are local).

Two checks, at two moments:

* ``url_problem`` when the URL is stored (a mutation's input): shape, scheme, no credentials, and a host
  that is not a non-global IP literal or a local name (``localhost``, ``*.localhost``). It reads no DNS, so a
  registration never fails on a passing resolver hiccup.
* ``resolved_problem`` right before sending: every address the host resolves to must be global. This is the
  check that matters (a public name can point at 10.0.0.1, or start to); call it on each attempt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

LOCAL_NAMES = ("localhost", "localhost.localdomain")


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` must not be reached from the cluster, or None for a global (public) address."""
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    if mapped is not None:
        address = mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global:  # unspecified, multicast, reserved, shared (100.64/10), documentation ranges
        return "a non-public address"
    return None


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def url_problem(url: str, *, schemes: Iterable[str] = ("https",), allow_private: bool = False) -> str | None:
    """Why ``url`` may not be stored as a delivery target, worded for the user; None when it may.

    No DNS is read (see the module docstring); ``resolved_problem`` checks the addresses before each send.
    """
    allowed = tuple(schemes)
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in allowed:
        return f"must be an {' or '.join(s + '://' for s in allowed)} URL"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    del port
    if allow_private:
        return None
    literal = _parse_ip(host)
    if literal is not None:
        problem = address_problem(literal)
        return f"points at {problem}" if problem else None
    lowered = host.lower()
    if lowered in LOCAL_NAMES or lowered.endswith(".localhost"):
        return "points at a loopback address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolved_problem(url: str, *, allow_private: bool = False,
                           resolver: Resolver = system_resolver) -> str | None:
    """Why sending to ``url`` now would reach a non-public address (or its host does not resolve); None if fine.

    Every resolved address must be global: a name with one public and one private address is refused, as a
    client may connect to either.
    """
    if allow_private:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    literal = _parse_ip(host)
    if literal is not None:
        problem = address_problem(literal)
        return f"{host} is {problem}" if problem else None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        return f"{host} does not resolve ({exc.strerror or exc})"
    if not addresses:
        return f"{host} does not resolve"
    for text in addresses:
        parsed = _parse_ip(text)
        problem = address_problem(parsed) if parsed is not None else "not an IP address"
        if problem:
            return f"{host} resolves to {text}, {problem}"
    return None
