"""Compare the bucket with the media table: objects nobody references, and READY rows whose object is gone.

Report only by default (counts and a sample of keys in the log); ``fix=True`` deletes orphan objects older
than ``orphan_min_age``. The age guard matters: an object can legitimately exist a moment before its row is
visible to this job (an upload racing the listing), never for a day.

The listing is streamed: see ``reconcile_storage``; memory stays at a page whatever the bucket's size.

Upload staging objects (``<key>.upload``, see ``media_policy.staging_key``) belong to their media while it is
PENDING: the client is uploading, finalize has not run, and the cleanup job removes them with the row. Once the
media is finished (or gone) a staging object is a leftover nobody serves, reported and fixed like an orphan.
Variant objects (``<key>.thumb.webp``, ``<key>.preview.webp``, see ``media_variants.keys``) belong to their
media while it is READY; any other is an orphan too. A variant row of a READY media whose object is gone is
reported missing, like its media's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import RawSQL, Subquery

from honeydue.media_policy import final_key, is_staging_key
from honeydue.media_variants.keys import variant_owner
from honeydue.models import Media, MediaStatus, MediaVariant
from honeydue.storage.base import ObjectInfo, Storage
from honeydue.storage.walk import SortedMerge

log = logging.getLogger(__name__)

ORPHAN_MIN_AGE = timedelta(days=1)
LOOKUP_BATCH = 500
SAMPLE = 20


@dataclass
class ReconcileReport:
    objects: int = 0
    orphans: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    peak_held: int = 0  # the most listing entries (or rows) the walk held at once: at most a page


@dataclass(frozen=True)
class ReadyRow:
    key: str


async def _keyset_keys(query_for: Callable[[str | None], Any], batch: int) -> AsyncIterator[ReadyRow]:
    """Keys of ``query_for(last)`` (annotated with ``sort_key``) in byte order, ``batch`` rows per query."""
    last: str | None = None
    while True:
        query = query_for(last)
        if last is not None:
            query = query.filter(sort_key__gt=last)
        keys = await query.order_by("sort_key").limit(batch).values_list("key", flat=True)
        for key in keys:
            yield ReadyRow(str(key))
        if len(keys) < batch:
            return
        last = str(keys[-1])


def _byte_order() -> RawSQL:
    return RawSQL('"key" COLLATE "C"' if connections.get("default").capabilities.dialect == "postgres"
                  else '"key" COLLATE BINARY')


async def ready_keys(finalized_before: datetime, batch: int = LOOKUP_BATCH) -> AsyncIterator[ReadyRow]:
    """Keys of READY rows finalized before the instant, and of their variants, in the bucket's key order.

    S3 lists keys in UTF-8 byte order; the database sorts by its collation (PostgreSQL's locale order puts
    ``a-b`` and ``a_b`` elsewhere), so the key is compared under the byte-order collation of each backend.
    Keyset pagination (``key > last``) keeps every query short however many rows there are. The media and
    variant keys come from two such walks, merged (``str`` order is UTF-8 byte order).
    """
    def media_query(last: str | None) -> Any:
        return Media.filter(status=MediaStatus.READY, finalized_at__lt=finalized_before).annotate(
            sort_key=_byte_order())

    def variant_query(last: str | None) -> Any:
        ready = Media.filter(status=MediaStatus.READY, finalized_at__lt=finalized_before).values("id")
        return MediaVariant.filter(media_id__in=Subquery(ready)).annotate(sort_key=_byte_order())

    media_keys = _keyset_keys(media_query, batch)
    variant_keys = _keyset_keys(variant_query, batch)
    media_next = await anext(media_keys, None)
    variant_next = await anext(variant_keys, None)
    while media_next is not None or variant_next is not None:
        if variant_next is None or (media_next is not None and media_next.key <= variant_next.key):
            assert media_next is not None
            yield media_next
            media_next = await anext(media_keys, None)
        else:
            yield variant_next
            variant_next = await anext(variant_keys, None)


async def reconcile_storage(
    storage: Storage, now: datetime, *, fix: bool = False, orphan_min_age: timedelta = ORPHAN_MIN_AGE,
    page_size: int = LOOKUP_BATCH,
) -> ReconcileReport:
    """One walk over the listing and the READY rows together, both in key order, a page at a time.

    Neither the listing nor the rows are ever held whole (``honeydue.storage.walk``): objects are checked
    against their rows ``page_size`` at a time, and a READY row without an object shows as a row-only key in
    the walk. Rows finalized after ``now`` are left out: their objects may postdate the listing.
    """
    report = ReconcileReport()
    batch: list[ObjectInfo] = []

    async def check(batch: list[ObjectInfo]) -> None:
        keys = {variant_owner(o.key) or final_key(o.key) for o in batch}
        rows = await Media.filter(key__in=list(keys)).values_list("key", "status")
        status_of = {key: MediaStatus(status) for key, status in rows}
        for info in batch:
            owner = variant_owner(info.key)
            if is_staging_key(info.key):
                if status_of.get(final_key(info.key)) == MediaStatus.PENDING:
                    continue  # an upload in progress
            elif owner is not None and info.key not in status_of:
                if status_of.get(owner) == MediaStatus.READY:
                    continue  # a variant of a served media
            elif info.key in status_of:
                continue
            report.orphans.append(info.key)
            if fix and info.last_modified < now - orphan_min_age:
                await storage.delete(info.key)
                report.deleted.append(info.key)

    walk: SortedMerge[ObjectInfo, ReadyRow] = SortedMerge(
        storage.list("", page_size=page_size), ready_keys(now, page_size), page_size)
    async for pair in walk:
        if pair.left is None:
            report.missing.append(pair.key)
            continue
        report.objects += 1
        batch.append(pair.left)
        if len(batch) >= page_size:
            await check(batch)
            batch = []
    if batch:
        await check(batch)
    report.peak_held = walk.peak_held

    log.info(
        "storage reconcile: %d objects, %d orphans (%d deleted), %d READY rows without object; "
        "orphans e.g. %s; missing e.g. %s",
        report.objects, len(report.orphans), len(report.deleted), len(report.missing),
        report.orphans[:SAMPLE], report.missing[:SAMPLE],
    )
    return report


def summary(report: ReconcileReport) -> dict[str, object]:
    """The report's counts and samples as JSON, for job_runs (the admin console's Storage screen)."""
    return {"objects": report.objects, "orphans": len(report.orphans), "missing": len(report.missing),
            "deleted": len(report.deleted), "orphan_sample": report.orphans[:SAMPLE],
            "missing_sample": report.missing[:SAMPLE]}
