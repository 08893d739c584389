"""The calendar feed's URL in GraphQL terms: who may read it (``User.calendarFeedUrl``) and rotating it."""

from __future__ import annotations

from honeydue import calendar_tokens
from honeydue.errors import Forbidden
from honeydue.models import User
from honeydue.settings import Settings


async def feed_url(settings: Settings, viewer: User, user: User) -> str:
    """``user``'s feed URL, made on the first read. Only ``user`` may read it: the URL alone opens the feed,
    so nobody else, admins included, is shown it (FORBIDDEN)."""
    if viewer.id != user.id:
        raise Forbidden("Only the user can see their calendar feed URL.")
    return await calendar_tokens.feed_url_of(settings, user)


async def rotate(settings: Settings, user: User) -> str:
    """A new feed URL for ``user``; the old one answers 404 from now on."""
    return await calendar_tokens.rotate_feed(settings, user)
