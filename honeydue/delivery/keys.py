"""Reading the push services' keys from settings: PEM text, a file path, or (VAPID) a raw base64url key.

The same loaders serve the transports (which sign with the keys), ``check-config`` (which only parses them)
and ``vapidPublicKey`` (which publishes the VAPID key's public half). A key that does not parse raises
``KeyProblem`` with a message naming the setting and never the key.
"""

from __future__ import annotations

import base64
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger(__name__)

PEM_MARKER = "-----BEGIN"


class KeyProblem(ValueError):
    """A configured key or credentials file is missing or does not parse; the message names the setting."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem_or_file(value: str, setting: str) -> str | None:
    """The PEM text ``value`` is or names (a file), or None when it is neither (the caller may try more)."""
    if PEM_MARKER in value:
        return value.replace("\\n", "\n")  # a PEM pasted into one env line with literal \n
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text()
    except OSError as exc:
        raise KeyProblem(f"{setting}: cannot read {value}: {exc.strerror}") from None
    return None


def load_ec_private_key(value: str, setting: str, *, raw_allowed: bool = False) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM text (PKCS#8 or SEC1), a PEM file path, or (``raw_allowed``) the raw
    32-byte scalar in base64url, as VAPID tools print it."""
    pem = _pem_or_file(value, setting)
    try:
        if pem is not None:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        elif raw_allowed:
            raw = b64url_decode(value.strip())
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            raise KeyProblem(f"{setting}: neither PEM text nor the path of a readable PEM file")
    except KeyProblem:
        raise
    except (ValueError, TypeError):
        hint = "PEM text, a PEM file path or a base64url P-256 key" if raw_allowed else "a PEM (.p8) key"
        raise KeyProblem(f"{setting}: does not parse as {hint}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyProblem(f"{setting}: not a P-256 (ES256) elliptic-curve key")
    return key


def vapid_public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The public half as browsers take it (``applicationServerKey``): the uncompressed point, base64url."""
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


@lru_cache(maxsize=4)
def _public_key_of(private_key: str) -> str | None:
    try:
        key = load_ec_private_key(private_key, "VAPID_PRIVATE_KEY", raw_allowed=True)
    except KeyProblem as exc:
        log.error("vapidPublicKey is null: %s (run honeydue check-config)", exc)
        return None
    return vapid_public_key(key)


def configured_vapid_public_key(vapid_private_key: str | None) -> str | None:
    """``vapidPublicKey``: the applicationServerKey browsers subscribe with; None when Web Push is off."""
    return _public_key_of(vapid_private_key) if vapid_private_key else None


def vapid_raw_private_key(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


SERVICE_ACCOUNT_FIELDS = ("type", "client_email", "private_key", "token_uri")


def load_service_account(path: Path, setting: str = "FCM_CREDENTIALS_FILE") -> dict[str, Any]:
    """The service-account JSON at ``path``, checked: the fields google-auth needs and a private key that parses."""
    try:
        info = json.loads(path.read_text())
    except OSError as exc:
        raise KeyProblem(f"{setting}: cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise KeyProblem(f"{setting}: {path} is not JSON") from None
    if not isinstance(info, dict):
        raise KeyProblem(f"{setting}: {path} is not a service-account key (a JSON object)")
    missing = [name for name in SERVICE_ACCOUNT_FIELDS if not info.get(name)]
    if missing:
        raise KeyProblem(f"{setting}: {path} lacks {', '.join(missing)} (download a service-account key)")
    if info["type"] != "service_account":
        raise KeyProblem(f"{setting}: {path} is a {info['type']!r} credential, not a service_account key")
    try:
        serialization.load_pem_private_key(str(info["private_key"]).encode(), password=None)
    except (ValueError, TypeError):
        raise KeyProblem(f"{setting}: the private_key in {path} does not parse") from None
    return info
