"""The secrets in account emails' links: random, URL-safe, stored only as a hash, single-use, expiring.

One rule for every purpose (``AccountTokenPurpose``: reset a password, verify the address, confirm a new
address). ``issue`` makes a token and voids the user's older unused ones of that purpose, so only the newest
link works. ``find`` reads a live token without using it (a page that shows a form); ``use`` marks it used with
a guarded update, so of two requests racing with one token exactly one gets it. ``delete_spent`` (the
``expire_account_tokens`` job) deletes tokens a week after they were used, voided or expired.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from honeydue import clock
from honeydue.models import AccountToken, AccountTokenPurpose, User

# secrets.token_urlsafe(32): 43 characters of [A-Za-z0-9_-], 256 bits of randomness.
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
# A spent token (used, voided or expired) works no more and nothing reads it (every dead link answers the same
# INVALID_TOKEN), so it is only kept a while for whoever looks into a support question ("did the reset link
# get used?"): a week, as a reminder's action links (honeydue.notification_actions.KEEP_EXPIRED).
KEEP_SPENT = timedelta(days=7)


def hash_account_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue(user: User, purpose: AccountTokenPurpose, ttl: timedelta, *, new_email: str | None = None) -> str:
    """A new raw token for ``user`` and ``purpose``; the user's older unused tokens of the purpose stop working."""
    now = clock.utc_now()
    await AccountToken.filter(user_id=user.id, purpose=purpose, used_at=None).update(used_at=now)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    await AccountToken.create(user_id=user.id, purpose=purpose, token_hash=hash_account_token(raw),
                              new_email=new_email, expires_at=now + ttl)
    return raw


async def find(raw: str, purpose: AccountTokenPurpose) -> AccountToken | None:
    """The live (unused, unexpired) token ``raw`` of ``purpose``, with its user; None otherwise."""
    if not TOKEN_RE.match(raw):  # not one of ours: no query
        return None
    token = await AccountToken.get_or_none(token_hash=hash_account_token(raw), purpose=purpose,
                                           used_at=None).select_related("user")
    if token is None or token.expires_at <= clock.utc_now():
        return None
    return token


async def use(token: AccountToken) -> bool:
    """Mark ``token`` used; False when it was used (or voided) meanwhile or has expired. Call inside the
    transaction that does the token's work, so a failure afterwards leaves the token usable."""
    now = clock.utc_now()
    updated = await AccountToken.filter(id=token.id, used_at=None, expires_at__gt=now).update(used_at=now)
    return updated == 1


async def void_all(user_id: object, purpose: AccountTokenPurpose) -> None:
    """Every unused token of ``purpose`` stops working (the address they were about changed)."""
    await AccountToken.filter(user_id=user_id, purpose=purpose, used_at=None).update(used_at=clock.utc_now())


async def delete_spent(now: datetime) -> int:
    """Delete tokens used (or voided) or expired over ``KEEP_SPENT`` before ``now``; how many. Live ones stay."""
    cutoff = now - KEEP_SPENT
    used = await AccountToken.filter(used_at__lt=cutoff).delete()
    expired = await AccountToken.filter(used_at=None, expires_at__lt=cutoff).delete()
    return used + expired
