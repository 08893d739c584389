"""An APNs provider API (``POST /3/device/<token>``) that checks what Apple's does, served over TLS + HTTP/2.

A request is accepted (200 with an ``apns-id``) only when

* it came over HTTP/2 (APNs speaks nothing else; anything older is refused here with 505);
* ``authorization: bearer <JWT>`` verifies as ES256 with the public half of the team's key, its header's
  ``kid`` is that key's ID, ``iss`` the team ID, and ``iat`` is at most an hour old (403
  ``ExpiredProviderToken``) and not in the future (403 ``InvalidProviderToken``);
* ``apns-topic`` is the app's bundle ID (400 ``MissingTopic`` / ``DeviceTokenNotForTopic``), ``apns-push-type``
  is ``alert`` (400 ``InvalidPushType``);
* the body is JSON with an ``aps`` dictionary, at most 4096 bytes (400 ``PayloadEmpty``, 413
  ``PayloadTooLarge``);
* the token is a known device's (400 ``BadDeviceToken``), and not one that was unregistered (410
  ``Unregistered``, with the timestamp APNs adds).

``answers`` scripts the next answers for a token (429 ``TooManyRequests``, 503 with ``Retry-After``);
``received`` keeps (token, headers, payload) of each accepted push, ``provider_tokens`` each distinct JWT.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class APNsService:
    key_id: str
    team_id: str
    public_key: ec.EllipticCurvePublicKey
    topic: str
    devices: set[str] = field(default_factory=set)
    unregistered: set[str] = field(default_factory=set)
    answers: dict[str, list[tuple[int, str, dict[str, str]]]] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    provider_tokens: set[str] = field(default_factory=set)
    http_versions: set[str] = field(default_factory=set)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/3/device/{token}", self.push, methods=["POST"])])

    def _refuse(self, status: int, reason: str, **extra: Any) -> Response:
        self.refused.append((status, reason))
        return JSONResponse({"reason": reason, **extra}, status, headers={"apns-id": str(uuid.uuid4())})

    async def push(self, request: Request) -> Response:
        self.http_versions.add(request.scope.get("http_version", ""))
        if request.scope.get("http_version") != "2":
            return Response("APNs requires HTTP/2", 505)
        token = request.path_params["token"]
        # Read the whole request before answering: hypercorn's HTTP/2 stream breaks on DATA frames arriving
        # for a stream it already answered (KeyError in its h2 protocol), which APNs itself handles.
        body = await request.body()
        problem = self._check_provider_token(request.headers.get("authorization", ""))
        if problem:
            return self._refuse(*problem)
        topic = request.headers.get("apns-topic")
        if not topic:
            return self._refuse(400, "MissingTopic")
        if topic != self.topic:
            return self._refuse(400, "DeviceTokenNotForTopic")
        if request.headers.get("apns-push-type") != "alert":
            return self._refuse(400, "InvalidPushType")
        if len(body) > 4096:
            return self._refuse(413, "PayloadTooLarge")
        try:
            data = json.loads(body)
        except ValueError:
            return self._refuse(400, "BadPayload")
        if not isinstance(data, dict) or not isinstance(data.get("aps"), dict):
            return self._refuse(400, "PayloadEmpty")
        if token in self.unregistered:
            return self._refuse(410, "Unregistered", timestamp=int(time.time() * 1000))
        if token not in self.devices:
            return self._refuse(400, "BadDeviceToken")
        scripted = self.answers.get(token)
        if scripted:
            status, reason, headers = scripted.pop(0)
            self.refused.append((status, reason))
            return JSONResponse({"reason": reason}, status, headers=headers)
        self.received.append((token, dict(request.headers), data))
        return Response(status_code=200, headers={"apns-id": request.headers.get("apns-id", str(uuid.uuid4()))})

    def _check_provider_token(self, header: str) -> tuple[int, str] | None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 403, "MissingProviderToken"
        try:
            head = jwt.get_unverified_header(token)
            if head.get("alg") != "ES256" or head.get("kid") != self.key_id:
                return 403, "InvalidProviderToken"
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"], options={"require": ["iss", "iat"]})
        except jwt.PyJWTError:
            return 403, "InvalidProviderToken"
        if claims["iss"] != self.team_id:
            return 403, "InvalidProviderToken"
        age = time.time() - claims["iat"]
        if age > 3600:
            return 403, "ExpiredProviderToken"
        if age < -60:
            return 403, "InvalidProviderToken"
        self.provider_tokens.add(token)
        return None
