"""Channel URLs and signing secrets at rest: sealed with AES-256-GCM under a key derived from MEDIA_SIGNING_KEY.

Why not plain: a webhook's secret must be kept recoverable (the HMAC is keyed with the secret itself, so a
hash would not do), and Apprise and many webhook URLs carry credentials in themselves (a Telegram bot token,
a Discord or Slack webhook path). Sealed, a copy of the database alone (a backup, a leaked dump) neither
lets anyone sign as this honeydue nor post to the users' chats; the key lives in the environment (a Secret
on k3s), not in the database.

Rotation: ``MEDIA_SIGNING_KEY_PREVIOUS`` still opens what the previous key sealed, and ``open_sealed``
says so, so the caller re-seals with the current key (``honeydue.delivery.webhook`` does at each send).
Once the previous key is dropped, a value sealed only under it no longer opens: the delivery fails saying
so, and the user adds the channel again.

Format: ``v1.<base64url(nonce || ciphertext+tag)>``; the channel's id is bound as associated data, so a
sealed value copied onto another row does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1."
_CONTEXT = b"honeydue notification channel sealing v1"


class SealError(Exception):
    """No configured key opens the value (its key was rotated out), or the value was altered."""


def _key(signing_key: bytes) -> bytes:
    return hmac.new(signing_key, _CONTEXT, hashlib.sha256).digest()


def seal(signing_keys: Sequence[bytes], plaintext: str, bound_to: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(signing_keys[0])).encrypt(nonce, plaintext.encode(), bound_to.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_sealed(signing_keys: Sequence[bytes], value: str, bound_to: str) -> tuple[str, bool]:
    """The plaintext, and whether it was sealed under a key other than the current one (re-seal it)."""
    if not value.startswith(PREFIX):
        raise SealError("not a sealed value")
    raw = base64.urlsafe_b64decode(value[len(PREFIX):])
    for index, key in enumerate(signing_keys):
        try:
            plain = AESGCM(_key(key)).decrypt(raw[:12], raw[12:], bound_to.encode())
        except InvalidTag:
            continue
        return plain.decode(), index > 0
    raise SealError("no configured signing key opens it (MEDIA_SIGNING_KEY was rotated): add the channel again")
