"""Where outgoing deliveries may go: the SSRF guard shared by Web Push endpoints, webhooks and Apprise URLs.

A URL a user hands us (a browser's push endpoint, a webhook) is fetched by our workers from inside the
cluster. Pointed at loopback, link-local (cloud metadata at 169.254.169.254), private or otherwise
non-global addresses it would reach services no user should reach, so those are refused unless
``ALLOW_PRIVATE_WEBHOOKS=true`` (tests and single-machine installs whose receivers are local).

Two checks, at two moments:

* ``url_problem`` when a Web Push endpoint is stored (``registerDevice``): shape, https, no credentials, and
  a host that is not a non-global IP literal or a local name (``localhost``, ``*.localhost``). It reads no
  DNS, so a registration never fails on a passing resolver hiccup.
* right before each send, ``honeydue.delivery.ssrf.check_url``: every address the host resolves to must pass
  ``address_problem``, and the request then connects to one of exactly those addresses (webhooks and Web
  Push alike). This is the check that matters: a public name can point at 10.0.0.1, or start to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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

    No DNS is read (see the module docstring); ``ssrf.check_url`` checks the addresses before each send.
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
