"""READY media rows by key, remembered for a few seconds per process.

A page of thumbnails, or a PDF viewer issuing dozens of range requests, asks
for the same few rows over and over; each lookup is a database round trip
before the first byte. Keys are immutable and a READY row's served fields
(size, ETag, type, name, dates) never change, so the only staleness is a row
deleted in the last few seconds: a GET then still fails cleanly (the object
is gone upstream: 404), and a HEAD or 304 may answer for at most
``TTL_SECONDS`` longer, far less than the hour a CDN may keep a signed link.
Misses are not remembered, so a media that just became READY is served at once.
A variant's key (``<media key>.thumb.webp``) finds its variant row, served with its media's access rules.
Concurrent misses for one key share a single lookup: when the entry expires
under load (a PDF viewer's burst of ranges), one query runs, not one per request.
"""

from __future__ import annotations

import asyncio
import copy
import time

from honeydue.media_variants.keys import variant_owner
from honeydue.models import Media, MediaVariant
from honeydue.models.enums import MediaStatus

TTL_SECONDS = 5.0
MAX_ENTRIES = 4096


async def served_variant(key: str) -> Media | None:
    """A variant as the routes serve it: its READY media's row (so access is the media's) with the variant's
    key, bytes, ETag and type, and a filename of its own. Never saved."""
    variant = await MediaVariant.get_or_none(key=key).select_related("media")
    if variant is None or variant.media.status != MediaStatus.READY:
        return None
    view = copy.copy(variant.media)
    stem = view.filename.rsplit(".", 1)[0] if "." in view.filename else view.filename
    view.key, view.size, view.etag = variant.key, variant.size, variant.etag
    view.content_type = variant.content_type
    view.filename = f"{stem}-{variant.kind.lower()}.webp"
    view.finalized_at = variant.created_at
    return view


class RecentMedia:
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._rows: dict[str, tuple[float, Media]] = {}
        self._loading: dict[str, asyncio.Task[Media | None]] = {}

    async def get(self, key: str) -> Media | None:
        hit = self._rows.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        task = self._loading.get(key)
        if task is None:
            # A task of its own: a requester that disconnects must not cancel the others' lookup.
            task = asyncio.ensure_future(self._load(key))
            self._loading[key] = task
            task.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _load(self, key: str) -> Media | None:
        media = await Media.get_or_none(key=key, status=MediaStatus.READY)
        if media is None and variant_owner(key) is not None:
            media = await served_variant(key)
        now = time.monotonic()
        if media is None:
            self._rows.pop(key, None)
            return None
        if len(self._rows) >= self.max_entries:
            # Oldest insertions first (dicts keep order): drop a slice rather than one per call.
            for stale in list(self._rows)[: self.max_entries // 8 or 1]:
                del self._rows[stale]
        self._rows[key] = (now + self.ttl, media)
        return media

    def forget(self, key: str) -> None:
        self._rows.pop(key, None)
