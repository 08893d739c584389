"""Opaque bearer tokens: random, stored only as SHA-256, expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from honeydue.models import AuthToken, User

TOKEN_PREFIX = "hd_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_token(user: User, ttl_days: int) -> str:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await AuthToken.create(
        user=user, token_hash=hash_token(raw), expires_at=datetime.now(UTC) + timedelta(days=ttl_days)
    )
    return raw


async def authenticate_token(raw: str) -> User | None:
    """The user a raw bearer token belongs to, or None when unknown, expired or revoked."""
    if not raw or len(raw) > 200:
        return None
    token = await AuthToken.get_or_none(token_hash=hash_token(raw)).select_related("user")
    if token is None or token.revoked_at is not None or token.expires_at <= datetime.now(UTC):
        return None
    return token.user


async def revoke_token(raw: str) -> None:
    await AuthToken.filter(token_hash=hash_token(raw), revoked_at=None).update(revoked_at=datetime.now(UTC))


async def revoke_all_tokens(user_id: object, except_raw: str | None = None) -> None:
    query = AuthToken.filter(user_id=user_id, revoked_at=None)
    if except_raw:
        query = query.exclude(token_hash=hash_token(except_raw))
    await query.update(revoked_at=datetime.now(UTC))


def bearer_from_header(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
