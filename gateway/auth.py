"""Who may read an object: a valid signed link, or a bearer token of a user with access.

A signed link is self-contained (no database lookup before the object row).
A bearer read is checked against the database: the owner, any member of the
media's residence, and for avatars anyone sharing a residence with the owner.
Bearer decisions are cached in Redis for a few seconds because a page of
thumbnails is dozens of identical checks; the cache is an optimisation only,
so any Redis failure falls back to the database without a sound. The token
itself is never cached: it is checked (expiry, revocation) on every request
before the cache is consulted, so a revoked session is refused at once
(docs/architecture.md, "Sessions").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from honeydue.auth import authenticate_token
from honeydue.media_access import user_may_read
from honeydue.models import Media, User
from honeydue.signing import verify_media_signature

log = logging.getLogger(__name__)

ALLOW_TTL_SECONDS = 30
# Short, so someone just invited to a residence is not locked out for long.
DENY_TTL_SECONDS = 5
# After a Redis failure, skip it for this long instead of paying a timeout per request.
REDIS_BACKOFF_SECONDS = 10.0
CACHE_PREFIX = "honeydue:gw:acl:"


@dataclass(frozen=True)
class SignedGrant:
    """A verified link; ``expires_at`` bounds how long a cache may keep the response."""

    expires_at: int


def check_signed_link(keys: list[bytes], key: str, query: Any, now: float) -> SignedGrant | None:
    """The grant of a signed link in ``query`` (``exp``, ``sig``), or None when missing/invalid/expired."""
    exp, sig = query.get("exp"), query.get("sig")
    if not verify_media_signature(keys, key, exp, sig, now):
        return None
    return SignedGrant(expires_at=int(exp))


async def user_for_bearer(token: str) -> User | None:
    """Resolve a bearer token with the API's own rules (expiry, revocation)."""
    return await authenticate_token(token)


class AccessCache:
    """Short-lived bearer decisions in Redis; every failure is a cache miss."""

    def __init__(self, redis: Any | None) -> None:
        self._redis = redis
        self._skip_until = 0.0

    async def get(self, user_id: object, media_id: object) -> bool | None:
        redis = self._usable_client()
        if redis is None:
            return None
        try:
            value = await redis.get(f"{CACHE_PREFIX}{user_id}:{media_id}")
        except Exception as exc:  # any Redis trouble: answer from the database
            self._back_off(exc)
            return None
        if value is None:
            return None
        return value in (b"1", "1")

    async def put(self, user_id: object, media_id: object, allowed: bool) -> None:
        redis = self._usable_client()
        if redis is None:
            return
        ttl = ALLOW_TTL_SECONDS if allowed else DENY_TTL_SECONDS
        try:
            await redis.set(f"{CACHE_PREFIX}{user_id}:{media_id}", b"1" if allowed else b"0", ex=ttl)
        except Exception as exc:
            self._back_off(exc)

    def _usable_client(self) -> Any | None:
        """The Redis client, or None when there is none or it is backing off after a failure."""
        if self._redis is None or time.monotonic() < self._skip_until:
            return None
        return self._redis

    def _back_off(self, exc: Exception) -> None:
        log.debug("gateway access cache unavailable: %s", exc.__class__.__name__)
        self._skip_until = time.monotonic() + REDIS_BACKOFF_SECONDS


async def bearer_may_read(user: User, media: Media, cache: AccessCache | None) -> bool:
    """``user_may_read`` behind the cache."""
    if cache is not None:
        cached = await cache.get(user.id, media.id)
        if cached is not None:
            return cached
    allowed = await user_may_read(user, media)
    if cache is not None:
        await cache.put(user.id, media.id, allowed)
    return allowed
