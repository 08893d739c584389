"""HMAC-SHA256 links for the media gateway: downloads (GET/HEAD) and local uploads (PUT).

A download link binds the object key and an expiry. The expiry is snapped up
to a window boundary so everyone asking for the same object in the same window
gets the same URL, which lets a CDN cache one copy per window; the gateway
then sets ``max-age`` to the seconds left, so no cache outlives the link.

Every message starts with a kind label, so an upload signature can never be
replayed as a download signature (or the reverse), and every field is length
prefixed, so no two different field tuples serialise to the same bytes.
Verification accepts any of the given keys (current first, then the one being
rotated out) and compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from urllib.parse import quote

WINDOW_SECONDS = 3600
_MEDIA_KIND = b"honeydue/media-get/1"
_UPLOAD_KIND = b"honeydue/media-put/1"
_SIG_CHARS = 43  # base64url of 32 bytes, unpadded
_MAX_DIGITS = 12  # an expiry of 12 digits is ~ year 33000; anything longer is garbage, not a number we signed


def snap_expiry(now: float, expires_in: int, window: int = WINDOW_SECONDS) -> int:
    """The first window boundary at or after ``now + expires_in``."""
    return int(math.ceil((now + expires_in) / window) * window)


def sign_media_url(
    keys: list[bytes], base_url: str, key: str, expires_in: int, now: float | None = None
) -> str:
    """A gateway download link ``{base_url}/media/{key}?exp=..&sig=..`` signed with ``keys[0]``."""
    if not keys:
        raise ValueError("no signing key")
    if expires_in <= 0:
        raise ValueError("expires_in must be positive")
    exp = snap_expiry(time.time() if now is None else now, expires_in)
    sig = _sign(keys[0], _MEDIA_KIND, key, str(exp))
    return f"{base_url.rstrip('/')}/media/{quote(key, safe='/')}?exp={exp}&sig={sig}"


def verify_media_signature(
    keys: list[bytes], key: str, exp: str | int | None, sig: str | None, now: float | None = None
) -> bool:
    """True when ``sig`` signs (key, exp) under one of ``keys`` and ``exp`` is still in the future."""
    expiry = _parse_digits(exp)
    if expiry is None or not _plausible_sig(sig):
        return False
    if expiry <= (time.time() if now is None else now):
        return False
    return _matches_any(keys, sig, _MEDIA_KIND, key, str(expiry))  # type: ignore[arg-type]


def sign_upload(
    keys: list[bytes], key: str, content_type: str, length: int, expires_at: int, content_md5: str | None = None
) -> str:
    """Signature of a local-backend upload URL: binds key, content type, exact length and expiry.

    A ``content_md5`` (the Content-MD5 header value) is bound as one more field when given, as S3 signs it.
    """
    if not keys:
        raise ValueError("no signing key")
    return _sign(keys[0], _UPLOAD_KIND, key, content_type, str(int(length)), str(int(expires_at)),
                 *_md5_field(content_md5))


def verify_upload(
    keys: list[bytes],
    key: str,
    content_type: str | None,
    length: str | int | None,
    expires_at: str | int | None,
    sig: str | None,
    now: float | None = None,
    content_md5: str | None = None,
) -> bool:
    """True when ``sig`` is a live :func:`sign_upload` signature for exactly these fields."""
    expiry = _parse_digits(expires_at)
    size = _parse_digits(length)
    if expiry is None or size is None or content_type is None or not _plausible_sig(sig):
        return False
    if expiry <= (time.time() if now is None else now):
        return False
    return _matches_any(keys, sig, _UPLOAD_KIND, key, content_type, str(size), str(expiry),  # type: ignore[arg-type]
                        *_md5_field(content_md5))


def _md5_field(content_md5: str | None) -> tuple[str, ...]:
    # Absent, not empty: links signed without a digest keep exactly the signature they always had.
    return (f"md5={content_md5}",) if content_md5 else ()


def _message(kind: bytes, fields: tuple[str, ...]) -> bytes:
    """``kind`` then each field as ``\n<utf-8 length>:<field>``: unambiguous for any field content."""
    text = "".join([f"\n{_utf8_len(value)}:{value}" for value in fields])
    return kind + text.encode("utf-8", "surrogatepass")


def _utf8_len(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _mac(secret: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 as unpadded base64url: 43 characters."""
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)[:_SIG_CHARS]


def _sign(secret: bytes, kind: bytes, *fields: str) -> str:
    return _mac(secret, _message(kind, fields)).decode("ascii")


def _matches_any(keys: list[bytes], sig: str, kind: bytes, *fields: str) -> bool:
    message = _message(kind, fields)
    given = sig.encode("ascii")
    # Each comparison is constant-time; stopping at the first match only reveals
    # whether the link was signed by the current or the previous key, which is no secret.
    return any(hmac.compare_digest(_mac(secret, message), given) for secret in keys)


def _plausible_sig(sig: str | None) -> bool:
    return isinstance(sig, str) and len(sig) == _SIG_CHARS and sig.isascii()


def _parse_digits(value: str | int | None) -> int | None:
    """A signed non-negative number (an expiry, a length) from a query string: a short run of ASCII digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str) or not value or len(value) > _MAX_DIGITS:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)


# --- one-click unsubscribe links ------------------------------------------------------------------------
# ``<user id hex>.<notification type>.<signature>``: bound to one user and one type, and not expiring (an
# email read a year later must still unsubscribe). Only turning a type off is possible with it.

_UNSUBSCRIBE_KIND = b"honeydue/unsubscribe/1"


def sign_unsubscribe(keys: list[bytes], user_id: str, notification_type: str) -> str:
    """The token of an unsubscribe link for (``user_id`` as 32 hex digits, ``notification_type``)."""
    if not keys:
        raise ValueError("no signing key")
    return f"{user_id}.{notification_type}.{_sign(keys[0], _UNSUBSCRIBE_KIND, user_id, notification_type)}"


def verify_unsubscribe(keys: list[bytes], token: str | None) -> tuple[str, str] | None:
    """(user id hex, notification type) when ``token`` is one ``sign_unsubscribe`` made with one of ``keys``."""
    if not isinstance(token, str) or len(token) > 200 or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    user_id, notification_type, sig = parts
    if not user_id or not notification_type or not _plausible_sig(sig):
        return None
    if not _matches_any(keys, sig, _UNSUBSCRIBE_KIND, user_id, notification_type):
        return None
    return user_id, notification_type
