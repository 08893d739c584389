"""FCM HTTP v1 and Google's OAuth2 token endpoint in one local server, checking what Google checks.

``service_account_info()`` is a test service-account key whose ``token_uri`` points here, so google-auth mints
its tokens from this server:

* ``POST /token`` takes the JWT-bearer grant (RFC 7523): the assertion must verify as RS256 with the public
  half of the account's key, its header's ``kid`` the key's ID, ``iss`` the account's ``client_email``,
  ``aud`` Google's token endpoint (``https://oauth2.googleapis.com/token``), ``scope`` including
  ``firebase.messaging``, and ``exp`` at most an hour after ``iat`` (else 400 ``invalid_grant``); it answers
  an access token valid for ``token_lifetime`` seconds.
* ``POST /v1/projects/<project>/messages:send`` needs ``Authorization: Bearer`` with a token minted here and
  not expired (401 ``UNAUTHENTICATED``), the right project (403 ``PERMISSION_DENIED``), a ``message.token``
  of a known device (400 ``INVALID_ARGUMENT``; a token that was unregistered: 404 ``UNREGISTERED``), and
  ``data`` values that are all strings (400 ``INVALID_ARGUMENT``, as FCM).

``answers`` scripts the next answers of a device token (429 ``QUOTA_EXCEEDED`` with ``Retry-After``, 503);
``received`` keeps each accepted message, ``tokens_minted`` counts grants.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# What Google's token endpoint requires as the assertion's audience, whatever token_uri the key names.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def fcm_error(status: int, google_status: str, code: str | None = None, headers: dict[str, str] | None = None
              ) -> Response:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}] if code else []
    return JSONResponse({"error": {"code": status, "message": google_status.lower(), "status": google_status,
                                   "details": details}}, status, headers=headers)


@dataclass
class FCMService:
    project_id: str
    base_url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    key_id: str = field(default_factory=lambda: secrets.token_hex(20))
    client_email: str = "firebase-adminsdk-test@honeydue-test.iam.gserviceaccount.com"
    token_lifetime: int = 3600
    devices: set[str] = field(default_factory=set)
    unregistered: set[str] = field(default_factory=set)
    answers: dict[str, list[tuple[int, str, str | None, dict[str, str]]]] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    tokens_minted: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def service_account_info(self) -> dict[str, str]:
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": self.project_id, "private_key_id": self.key_id,
                "private_key": pem, "client_email": self.client_email, "client_id": "1234567890",
                "token_uri": f"{self.base_url}/token"}

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/token", self.token, methods=["POST"]),
                                 Route("/v1/projects/{project}/messages:send", self.send, methods=["POST"])])

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != GRANT:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        assertion = str(form.get("assertion", ""))
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
                raise jwt.InvalidTokenError("unknown kid")
            claims = jwt.decode(assertion, self.key.public_key(), algorithms=["RS256"],
                                audience=GOOGLE_TOKEN_AUDIENCE, issuer=self.client_email,
                                options={"require": ["iss", "aud", "exp", "iat", "scope"]})
        except jwt.PyJWTError as exc:
            self.refused.append((400, f"invalid_grant: {exc}"))
            return JSONResponse({"error": "invalid_grant", "error_description": str(exc)}, 400)
        if SCOPE not in str(claims["scope"]).split() or claims["exp"] - claims["iat"] > 3600:
            self.refused.append((400, "invalid_scope"))
            return JSONResponse({"error": "invalid_scope"}, 400)
        access = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[access] = time.time() + self.token_lifetime
        self.tokens_minted += 1
        return JSONResponse({"access_token": access, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _refuse(self, status: int, google_status: str, code: str | None = None) -> Response:
        self.refused.append((status, code or google_status))
        return fcm_error(status, google_status, code)

    async def send(self, request: Request) -> Response:
        body = await request.body()
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        expiry = self.access_tokens.get(bearer) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < time.time():
            return self._refuse(401, "UNAUTHENTICATED")
        if request.path_params["project"] != self.project_id:
            return self._refuse(403, "PERMISSION_DENIED")
        try:
            message = json.loads(body)["message"]
            token = message["token"]
        except (ValueError, KeyError, TypeError):
            return self._refuse(400, "INVALID_ARGUMENT")
        if not all(isinstance(v, str) for v in (message.get("data") or {}).values()):
            return self._refuse(400, "INVALID_ARGUMENT")
        if token in self.unregistered:
            return self._refuse(404, "NOT_FOUND", "UNREGISTERED")
        if token not in self.devices:
            return self._refuse(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        scripted = self.answers.get(token)
        if scripted:
            status, google_status, code, headers = scripted.pop(0)
            self.refused.append((status, code or google_status))
            return fcm_error(status, google_status, code, headers)
        self.received.append(message)
        return JSONResponse({"name": f"projects/{self.project_id}/messages/{uuid.uuid4().hex}"})
