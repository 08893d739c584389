"""Opaque bearer tokens: random, stored only as SHA-256, expiring and revocable.

Each token row is one *session*: where it was issued (user agent and client address, cleaned here), when,
and when it was last used. ``last_used_at`` is written at most once a minute per token: the row read to
authenticate a request carries the stored value, and only when that is older than
``LAST_USED_RESOLUTION`` does the request issue one conditional UPDATE (which a concurrent request that
got there first turns into a no-op). Most requests therefore cost no write at all.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from honeydue import clock
from honeydue.models import AuthToken, User
from honeydue.settings import Settings

TOKEN_PREFIX = "hd_"
# How stale ``last_used_at`` may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_USER_AGENT_LENGTH = 255  # the column's length; longer user agents are cut
MAX_ADDRESS_LENGTH = 64  # the column's length: any IPv6 address, with a zone id of reasonable size
# Every control character (C0 including tab and newlines, DEL, C1): a user agent is shown on one line.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SessionOrigin:
    """Where a token was issued to, as shown in the user's session list; None when unknown."""

    user_agent: str | None = None
    ip_address: str | None = None


def session_origin(user_agent: str | None, address: str | None) -> SessionOrigin:
    """A ``SessionOrigin`` from raw request values: the user agent without control characters, cut to
    ``MAX_USER_AGENT_LENGTH``; the address only when it is an IP address (normalised), else None."""
    agent = CONTROL_CHARACTERS.sub("", user_agent or "").strip()[:MAX_USER_AGENT_LENGTH].strip()
    try:
        parsed = str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        parsed = ""
    return SessionOrigin(user_agent=agent or None,
                         ip_address=parsed if parsed and len(parsed) <= MAX_ADDRESS_LENGTH else None)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def session_ttl_days(settings: Settings, user: User) -> float:
    """How long a new session of ``user`` lasts, in days: ``TOKEN_TTL_DAYS``, or ``ADMIN_TOKEN_TTL_HOURS`` for an
    admin account (whichever is shorter)."""
    if user.is_admin:
        return min(float(settings.token_ttl_days), settings.admin_token_ttl_hours / 24)
    return float(settings.token_ttl_days)


async def issue_token(user: User, ttl_days: float, origin: SessionOrigin | None = None) -> str:
    """A new raw token (a new session) for ``user``; only its hash is stored. Issuing counts as a use.

    ``ttl_days`` comes from ``session_ttl_days``."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    origin = origin or SessionOrigin()
    now = clock.utc_now()
    await AuthToken.create(
        user=user, token_hash=hash_token(raw), expires_at=now + timedelta(days=ttl_days), last_used_at=now,
        user_agent=origin.user_agent, ip_address=origin.ip_address,
    )
    return raw


def is_live(token: AuthToken, now: datetime) -> bool:
    return token.revoked_at is None and token.expires_at > now


async def authenticate_session(raw: str) -> AuthToken | None:
    """The live token row (its ``user`` loaded) a raw bearer token names, or None when unknown, expired,
    revoked, or its user is disabled (``User.disabled``). Records the use (see the module's docstring).

    The API and the gateway's bearer path both come here, so a disabled account is refused by both at once."""
    if not raw or len(raw) > 200:
        return None
    token = await AuthToken.get_or_none(token_hash=hash_token(raw)).select_related("user")
    now = clock.utc_now()
    if token is None or not is_live(token, now) or token.user.disabled:
        return None
    await record_use(token, now)
    return token


async def authenticate_token(raw: str) -> User | None:
    """The user a raw bearer token belongs to, or None when unknown, expired or revoked."""
    token = await authenticate_session(raw)
    return None if token is None else token.user


async def record_use(token: AuthToken, now: datetime) -> None:
    """Move ``last_used_at`` to ``now`` unless it is less than ``LAST_USED_RESOLUTION`` old.

    Decided on the value read with the token, so a fresh one costs no statement; the UPDATE repeats the
    condition, so of several requests racing past the first check only one writes.
    """
    cutoff = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at >= cutoff:
        return
    await AuthToken.filter(Q(id=token.id) & (Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff))).update(
        last_used_at=now
    )
    token.last_used_at = now


def live_tokens_of(user_ids: list[uuid.UUID], now: datetime) -> QuerySet[AuthToken]:
    """The query for the live (not revoked, not expired) tokens of ``user_ids``."""
    return AuthToken.filter(user_id__in=user_ids, revoked_at__isnull=True, expires_at__gt=now)


async def revoke_token(raw: str) -> None:
    await AuthToken.filter(token_hash=hash_token(raw), revoked_at=None).update(revoked_at=clock.utc_now())


async def revoke_session(user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one live session of ``user_id``; False when it is not one (someone else's, ended, unknown)."""
    now = clock.utc_now()
    revoked = await live_tokens_of([user_id], now).filter(id=session_id).update(revoked_at=now)
    return revoked > 0


async def revoke_all_tokens(user_id: object, except_raw: str | None = None) -> int:
    """End every live session of ``user_id`` except the one of ``except_raw``; returns how many ended.

    What a password change, a password reset and ``revokeOtherSessions`` call.
    """
    now = clock.utc_now()
    query = AuthToken.filter(user_id=user_id, revoked_at=None, expires_at__gt=now)
    if except_raw:
        query = query.exclude(token_hash=hash_token(except_raw))
    return await query.update(revoked_at=now)


def bearer_from_header(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
