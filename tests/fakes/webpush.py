"""A Web Push service (RFC 8030) that checks what a browser vendor's does, and decrypts as the browser would.

Each subscription is made here as a browser makes one: a P-256 key pair and a 16-byte auth secret, for an
``applicationServerKey`` (the server's VAPID public key). A push to ``/push/{id}`` is accepted (201) only when

* ``Authorization: vapid t=<JWT>, k=<key>`` (RFC 8292) carries a JWT whose ES256 signature verifies with ``k``,
  ``k`` is the key the subscription was made for, ``aud`` is this service's origin, ``exp`` is in the future and
  at most 24 hours away, and ``sub`` is a ``mailto:`` or ``https:`` URL (else 401/403, as FCM and Mozilla do);
* ``TTL`` is present and ``Content-Encoding`` is ``aes128gcm`` (else 400);
* the body decrypts (RFC 8291/8188) with the subscription's private key and auth secret (else 400).

The decrypted payloads are kept in ``received``. ``answers`` scripts a status (404, 410, 429 with Retry-After)
for a subscription's next pushes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from honeydue.delivery.keys import b64url, b64url_decode


@dataclass
class Subscription:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str  # the applicationServerKey it was made with

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


@dataclass
class WebPushService:
    base_url: str = ""
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)  # the Host (:authority) of each accepted push

    def subscribe(self, server_key: str) -> Subscription:
        sub = Subscription(uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()), os.urandom(16), server_key)
        self.subscriptions[sub.id] = sub
        return sub

    def endpoint(self, sub: Subscription) -> str:
        return f"{self.base_url}/push/{sub.id}"

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/push/{sub_id}", self.push, methods=["POST"])])

    def _refuse(self, status: int, why: str) -> Response:
        self.refused.append((status, why))
        return Response(json.dumps({"code": status, "message": why}), status, media_type="application/json")

    async def push(self, request: Request) -> Response:
        body = await request.body()  # all of it before answering (see tests/fakes/apns.py)
        sub = self.subscriptions.get(request.path_params["sub_id"])
        if sub is None:
            return self._refuse(404, "no such subscription")
        scripted = self.answers.get(sub.id)
        if scripted:
            status, headers = scripted.pop(0)
            return Response(status_code=status, headers=headers)
        problem = self._check_vapid(request.headers.get("authorization", ""), sub)
        if problem:
            return self._refuse(*problem)
        if "ttl" not in request.headers:
            return self._refuse(400, "TTL header missing")
        if request.headers.get("content-encoding") != "aes128gcm":
            return self._refuse(400, "Content-Encoding must be aes128gcm")
        if len(body) > 4096:
            return self._refuse(413, "payload too large")
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001 - any decryption failure is the sender's fault
            return self._refuse(400, f"payload does not decrypt: {exc!r}")
        self.received.append((sub.id, json.loads(plain)))
        self.hosts.append(request.headers.get("host", ""))
        return Response(status_code=201, headers={"Location": f"{self.base_url}/message/{uuid.uuid4().hex}"})

    def _check_vapid(self, header: str, sub: Subscription) -> tuple[int, str] | None:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return 401, "Authorization must use the vapid scheme (RFC 8292)"
        values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        token, key = values.get("t"), values.get("k")
        if not token or not key:
            return 401, "vapid needs t= and k="
        if key != sub.server_key:
            return 403, "k is not the applicationServerKey of the subscription"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        try:
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.base_url,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.PyJWTError as exc:
            return 403, f"JWT refused: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return 403, "exp more than 24 hours away"
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return 403, "sub must be a mailto: or https: URL"
        return None
