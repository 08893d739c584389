"""Compare the bucket with the media table: objects nobody references, and READY rows whose object is gone.

Report only by default (counts and a sample of keys in the log); ``fix=True`` deletes orphan objects older
than ``orphan_min_age``. The age guard matters: an object can legitimately exist a moment before its row is
visible to this job (an upload racing the listing), never for a day.

Upload staging objects (``<key>.upload``, see ``media_policy.staging_key``) belong to their media while it is
PENDING: the client is uploading, finalize has not run, and the cleanup job removes them with the row. Once the
media is finished (or gone) a staging object is a leftover nobody serves, reported and fixed like an orphan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from honeydue.media_policy import final_key, is_staging_key
from honeydue.models import Media, MediaStatus
from honeydue.storage.base import Storage

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


async def reconcile_storage(
    storage: Storage, now: datetime, *, fix: bool = False, orphan_min_age: timedelta = ORPHAN_MIN_AGE
) -> ReconcileReport:
    report = ReconcileReport()
    seen: set[str] = set()
    batch: list = []

    async def check(batch: list) -> None:
        keys = {final_key(o.key) for o in batch}
        rows = await Media.filter(key__in=list(keys)).values_list("key", "status")
        status_of = {key: MediaStatus(status) for key, status in rows}
        for info in batch:
            if is_staging_key(info.key):
                if status_of.get(final_key(info.key)) == MediaStatus.PENDING:
                    continue  # an upload in progress
            elif info.key in status_of:
                continue
            report.orphans.append(info.key)
            if fix and info.last_modified < now - orphan_min_age:
                await storage.delete(info.key)
                report.deleted.append(info.key)

    async for info in storage.list(""):
        report.objects += 1
        seen.add(info.key)
        batch.append(info)
        if len(batch) >= LOOKUP_BATCH:
            await check(batch)
            batch = []
    if batch:
        await check(batch)

    # Rows finalized after the listing started may point at objects the listing did not see yet.
    ready = Media.filter(status=MediaStatus.READY, finalized_at__lt=now).values_list("key", flat=True)
    report.missing = [key for key in await ready if key not in seen]  # type: ignore[misc]

    log.info(
        "storage reconcile: %d objects, %d orphans (%d deleted), %d READY rows without object; "
        "orphans e.g. %s; missing e.g. %s",
        report.objects, len(report.orphans), len(report.deleted), len(report.missing),
        report.orphans[:SAMPLE], report.missing[:SAMPLE],
    )
    return report
