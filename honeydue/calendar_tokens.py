"""Calendar feed URLs: secret, revocable, one per user, and never stored in a form that opens the feed.

A feed's token is ``HMAC-SHA256(signing key, kind || nonce)`` in URL-safe base64 (43 characters). The
``calendar_feeds`` row keeps the random ``nonce`` and the token's SHA-256; a request is matched on that hash
alone, so the key is needed to *show* the URL (``User.calendarFeedUrl`` returns it on every read) but not to
serve it, and a copy of the database without the key opens no feed.

Rotating ``MEDIA_SIGNING_KEY`` (docs/rotation.md) therefore keeps every feed answering at its URL, and the
URL is shown as long as the key that made it is current or ``MEDIA_SIGNING_KEY_PREVIOUS``; a feed read after
that key is gone gets a new URL (the old one stops), since nothing can show the old one any more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid

from honeydue import clock
from honeydue.links import app_link
from honeydue.models import CalendarFeed, User
from honeydue.settings import Settings

_KIND = b"honeydue/calendar-feed/1\x00"
# base64url of a 32-byte HMAC, unpadded: anything else in the URL is not a token, and is answered without a query.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
FEED_PATH = "/calendar/{token}.ics"


def derive_token(key: bytes, nonce: str) -> str:
    digest = hmac.new(key, _KIND + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(settings: Settings, token: str) -> str:
    """The public URL of the feed with ``token``: ``{PUBLIC_APP_URL}/calendar/<token>.ics``."""
    return app_link(settings, FEED_PATH.format(token=token))


def _new_secret(settings: Settings) -> tuple[str, str]:
    """A fresh (nonce, token) pair under the current signing key."""
    nonce = secrets.token_urlsafe(32)
    return nonce, derive_token(settings.signing_keys()[0], nonce)


def _shown_token(settings: Settings, feed: CalendarFeed) -> str | None:
    """The token of ``feed`` as one of the configured keys derives it; None when none of them made it."""
    for key in settings.signing_keys():
        token = derive_token(key, feed.nonce)
        if hmac.compare_digest(hash_token(token), feed.token_hash):
            return token
    return None


async def feed_url_of(settings: Settings, user: User) -> str:
    """The user's feed URL, made on the first call (two first calls at once agree on one row)."""
    nonce, token = _new_secret(settings)
    feed, created = await CalendarFeed.get_or_create(user_id=user.id,
                                                     defaults={"nonce": nonce, "token_hash": hash_token(token)})
    if not created:
        shown = _shown_token(settings, feed)
        if shown is not None:
            return feed_url(settings, shown)
        return await rotate_feed(settings, user)  # made under a key that is no longer configured
    return feed_url(settings, token)


async def rotate_feed(settings: Settings, user: User) -> str:
    """A new URL for the user's feed; the previous one answers 404 from now on."""
    nonce, token = _new_secret(settings)
    updated = await CalendarFeed.filter(user_id=user.id).update(nonce=nonce, token_hash=hash_token(token),
                                                                   rotated_at=clock.utc_now())
    if not updated:
        _feed, created = await CalendarFeed.get_or_create(
            user_id=user.id, defaults={"nonce": nonce, "token_hash": hash_token(token)})
        if not created:  # a first read made one meanwhile: replace it, as asked
            return await rotate_feed(settings, user)
    return feed_url(settings, token)


async def feed_owner(token: str) -> uuid.UUID | None:
    """The id of the user whose feed ``token`` opens, or None (malformed, rotated away or unknown)."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    feed = await CalendarFeed.get_or_none(token_hash=hash_token(token)).only("id", "user_id")
    return None if feed is None else feed.user_id
