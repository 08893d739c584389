"""The ``make_media_variants`` job: finalizeUpload sends it for every READY image (and video); it never blocks
the finalize, whose answer is already given.

One run: read the original, render the variants in a thread (CPU work off the event loop, which in
``honeydue serve`` is the server's own), store each under its derived key, then record them, the displayed
size and the placeholder in one transaction. A media deleted meanwhile gets its fresh variant objects deleted
again. Running it twice is harmless: the objects are overwritten and the rows replaced.

The content type picks the maker: images are decoded by ``images``; a video's poster frame
(``video.poster_frame``, about one second in) becomes its THUMB (a THUMB only: a list shows it, a player shows the
video itself), and its size and placeholder are the poster's. A failure is retried by Dramatiq (``MAX_ATTEMPTS``
runs in all, with backoff); the last one, or a file that is not a readable image or video at all, is recorded as
FAILED with its error.
Clients fall back to the original meanwhile (``Media.thumbnail`` is null).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from honeydue.jobs import resend_each
from honeydue.media_policy import IMAGE_TYPES, VIDEO_TYPES, normalize_content_type
from honeydue.media_variants import images, video
from honeydue.media_variants.keys import VARIANT_CONTENT_TYPE, variant_key, variant_keys
from honeydue.models import Media, MediaStatus, MediaVariant, MediaVariantKind, VariantsStatus
from honeydue.storage.base import Storage

log = logging.getLogger(__name__)

JOB = "make_media_variants"
MAX_ATTEMPTS = 3
# A PENDING media younger than this most likely has its message on the way, or a retry in backoff.
SWEEP_MIN_AGE = timedelta(minutes=15)
SWEEP_BATCH = 500


def wants_variants(content_type: str) -> bool:
    """Does finalize send the variant job for this type? Every image, and every video."""
    kind = normalize_content_type(content_type)
    return kind in IMAGE_TYPES or kind.startswith("video/")


async def _render_image(storage: Storage, media: Media) -> images.Rendered:
    data = await storage.read_prefix(media.key, media.size)
    return await asyncio.to_thread(images.render_bytes, data)


async def _render_video(storage: Storage, media: Media) -> images.Rendered:
    """The poster frame's THUMB; the video is streamed to a temporary file (a video may be hundreds of MB)."""
    handle, path = tempfile.mkstemp(prefix="honeydue-poster-")
    try:
        with os.fdopen(handle, "wb") as out:
            stream = await storage.open(media.key)
            try:
                async for chunk in stream.chunks:
                    await asyncio.to_thread(out.write, chunk)
            finally:
                await stream.aclose()

        def frame_thumb() -> images.Rendered:
            try:
                frame = video.poster_frame(path)
            except video.UndecodableVideo as exc:  # no retry makes these bytes a video
                raise images.UnreadableImage(f"no poster frame: {exc}") from exc
            return images.render(frame, (MediaVariantKind.THUMB,))

        return await asyncio.to_thread(frame_thumb)
    finally:
        os.unlink(path)


async def _store(storage: Storage, media: Media, rendered: images.Rendered) -> list[MediaVariant]:
    rows = []
    for variant in rendered.variants:
        key = variant_key(media.key, variant.kind)
        await storage.put_bytes(key, variant.data, VARIANT_CONTENT_TYPE)
        info = await storage.head(key)
        rows.append(MediaVariant(media_id=media.id, kind=variant.kind, key=key, content_type=VARIANT_CONTENT_TYPE,
                                 width=variant.width, height=variant.height, size=info.size, etag=info.etag))
    return rows


async def _record(media: Media, rendered: images.Rendered, rows: list[MediaVariant]) -> bool:
    """Write the variants and the media's size and placeholder; False when the media is no longer READY."""
    async with in_transaction():
        moved = await Media.filter(id=media.id, status=MediaStatus.READY).select_for_update().first()
        if moved is None:
            return False
        await MediaVariant.filter(media_id=media.id).delete()
        for row in rows:
            await row.save()
        await Media.filter(id=media.id).update(width=rendered.width, height=rendered.height,
                                               placeholder=rendered.placeholder,
                                               variants_status=VariantsStatus.READY, variants_error=None)
    return True


async def _fail(media_id: uuid.UUID, error: BaseException, final: bool) -> None:
    text = f"{type(error).__name__}: {error}"[:255]
    changes: dict[str, object] = {"variants_error": text}
    if final:
        changes["variants_status"] = VariantsStatus.FAILED
    await Media.filter(id=media_id).update(**changes)


async def sweep_media_variants(now: datetime, send: Callable[[str], object]) -> list[str]:
    """Send the job for media that should have variants and have none coming: still PENDING well after finalize
    (a lost message), or finalized before variants existed (no status yet: a backfill, ``SWEEP_BATCH`` a run)."""
    never = Q(variants_status=None, content_type__in=[*IMAGE_TYPES, *VIDEO_TYPES])
    due = Q(Q(variants_status=VariantsStatus.PENDING), never, join_type="OR")
    stuck = Media.filter(due, status=MediaStatus.READY, finalized_at__lt=now - SWEEP_MIN_AGE).order_by(
        "finalized_at").limit(SWEEP_BATCH)
    return resend_each(await stuck.values_list("id", flat=True), send)


async def make_media_variants(media_id: str, storage: Storage) -> VariantsStatus | None:
    """Make the variants of one media; its VariantsStatus afterwards (None: nothing to do).

    Raises (so Dramatiq retries) on a failure that may pass, until the last attempt, which is recorded.
    """
    media = await Media.get_or_none(id=uuid.UUID(str(media_id)))
    if media is None or media.status != MediaStatus.READY:
        return None
    if media.variants_status not in (None, VariantsStatus.PENDING):
        return VariantsStatus(media.variants_status)  # done, failed for good, or not applicable
    if media.variants_attempts >= MAX_ATTEMPTS:  # a run died after counting its attempt: give up now
        await _fail(media.id, RuntimeError(media.variants_error or "out of attempts"), final=True)
        return VariantsStatus.FAILED
    attempt = media.variants_attempts + 1
    await Media.filter(id=media.id).update(variants_attempts=attempt)
    kind = normalize_content_type(media.content_type)
    try:
        if kind in IMAGE_TYPES:
            rendered = await _render_image(storage, media)
        elif kind.startswith("video/"):
            rendered = await _render_video(storage, media)
        else:
            await Media.filter(id=media.id).update(variants_status=VariantsStatus.NONE)
            return VariantsStatus.NONE
        rows = await _store(storage, media, rendered)
        if not await _record(media, rendered, rows):
            # Deleted (or retired) while we rendered: its deleter may have run before our objects existed.
            for key in variant_keys(media.key):
                await storage.delete(key)
            return None
    except images.UnreadableImage as exc:  # no retry makes these bytes readable
        log.warning("variants of media %s: %s", media.id, exc)
        await _fail(media.id, exc, final=True)
        return VariantsStatus.FAILED
    except Exception as exc:
        final = attempt >= MAX_ATTEMPTS
        log.warning("variants of media %s, attempt %d of %d: %s", media.id, attempt, MAX_ATTEMPTS, exc)
        await _fail(media.id, exc, final=final)
        if final:
            return VariantsStatus.FAILED
        raise
    return VariantsStatus.READY
