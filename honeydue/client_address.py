"""The client's address: derived once per request, the one every log line and rate limit uses.

A request reaches a process either straight from the client or through proxies (Cloudflare, then Traefik in
k3s). Only a proxy listed in ``FORWARDED_ALLOW_IPS`` may name the client; from anyone else a header naming
it is ignored, or a client could pick the address its rate limits count.

From a trusted peer:

* ``CLIENT_IP_HEADER`` (for example ``CF-Connecting-IP``), when set and present with a valid address, is the
  client. Behind Cloudflare this is the one value that names the visitor: Traefik appends Cloudflare's edge
  to ``X-Forwarded-For``, so the edge, not the visitor, is the nearest untrusted hop there.
* Otherwise ``X-Forwarded-For``: the nearest hop that is not itself a trusted proxy (read from the right,
  as each proxy appends), as uvicorn's own proxy handling reads it.

``ClientAddressMiddleware`` applies this (and ``X-Forwarded-Proto``) to the ASGI scope before anything else
runs, so ``request.client``, the access log and the rate limits all see the same address; uvicorn's own
proxy-header handling is switched off (``honeydue.cli``) so the real peer is still known here.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from honeydue.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
# An IPv6 subscriber is usually handed a whole /64; counting single addresses there would give one client
# 2^64 budgets. Rate limits count IPv6 clients per /64.
IPV6_LIMIT_PREFIX = 64


class TrustedProxies:
    """``FORWARDED_ALLOW_IPS``: addresses and networks, or ``*`` for every peer."""

    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.everyone = "*" in items
        self.networks: list[IPNetwork] = [parse_network(item) for item in items if item != "*"]
        self._trusts = lru_cache(maxsize=4096)(self._compute)

    def __contains__(self, host: str | None) -> bool:
        if self.everyone:
            return True
        if not host or len(host) > 64:  # longer than any address: never trusted, never cached
            return False
        return self._trusts(host)

    def _compute(self, host: str) -> bool:
        address = parse_address(host)
        return address is not None and any(address in network for network in self.networks)


def parse_network(item: str) -> IPNetwork:
    """One ``FORWARDED_ALLOW_IPS`` entry as a network (an address is a one-address network); ValueError if neither."""
    return ipaddress.ip_network(item, strict=False)


def parse_address(value: str) -> IPAddress | None:
    """``value`` as an IP address (IPv4, IPv6, bracketed IPv6, with or without a port), else None."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve_client_address(
    peer: str | None, headers: list[tuple[bytes, bytes]], trusted: TrustedProxies, client_ip_header: bytes | None
) -> str:
    """The client's address for a request from ``peer`` carrying ``headers`` (ASGI form: lower-case names)."""
    if not peer:
        return UNKNOWN
    if peer not in trusted:
        return peer
    named: str | None = None
    forwarded: list[str] = []
    for name, value in headers:
        if client_ip_header is not None and name == client_ip_header:
            named = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded.extend(value.decode("latin-1").split(","))
    if named is not None:
        address = parse_address(named)
        if address is not None:
            return str(address)
    hops = [hop.strip() for hop in forwarded if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            address = parse_address(hop)
            return str(address) if address is not None else peer
    # Every hop was a trusted proxy: the first one is as near to the client as the chain goes.
    if hops:
        address = parse_address(hops[0])
        if address is not None:
            return str(address)
    return peer


def client_address(scope: Scope) -> str:
    """The address ``ClientAddressMiddleware`` settled on for this request (the peer's without it)."""
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN


def limit_key(address: str) -> str:
    """What a per-address rate limit counts for ``address``: itself, or its /64 for IPv6."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_LIMIT_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address


class ClientAddressMiddleware:
    """Pure ASGI, outermost: puts the client's address in ``scope["client"]`` and the scheme the proxy saw."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = TrustedProxies(settings.forwarded_allow_ips)
        header = settings.client_ip_header
        self.client_ip_header = header.strip().lower().encode("latin-1") if header else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            peer_host = str(peer[0]) if peer else None
            headers = list(scope.get("headers", ()))
            address = resolve_client_address(peer_host, headers, self.trusted, self.client_ip_header)
            scope = dict(scope)
            scope["client"] = (address, peer[1] if peer and address == peer_host else 0)
            if peer_host in self.trusted:
                proto = next((v for n, v in headers if n == b"x-forwarded-proto"), None)
                scheme = proto.decode("latin-1").strip().lower() if proto else ""
                if scheme in ("http", "https"):
                    scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
        await self.app(scope, receive, send)
