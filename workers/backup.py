"""Copy the primary bucket to the backup bucket, incrementally, and keep deleted objects for a while.

One walk over both listings in key order (``honeydue.storage.walk.SortedMerge``), a page at a time, so the
job's memory does not grow with the bucket. For each key:

* in the primary only, or with another size or ETag in the backup: stream it from the primary into the
  backup under the same key (``Storage.open_writer``: one part in memory at most). Nothing assumes both
  buckets are on one endpoint, so there is no server-side copy. A large object's backup copy is multipart
  and its ETag cannot equal the primary's; the primary's ETag is kept in the copy's metadata and compared
  instead (one HEAD, only when the ETags differ and the sizes agree).
* the same in both: nothing (a second run copies nothing: the job is idempotent).
* in the backup only (the app deleted it: delete, clean-up, reconcile): kept for ``BACKUP_RETENTION_DAYS``.
  The first run that sees it missing records a ``backup_tombstones`` row (key, missing_since); a run after
  the retention deletes the copy and the row. A key back in the primary (restored) loses its tombstone.
* staging objects (``<key>.upload``): an upload in progress, never backed up.

Account purges delete from the backup at once (``workers.purge``): the right to be forgotten covers backups.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from honeydue.media_policy import is_staging_key
from honeydue.models import BackupTombstone
from honeydue.storage.base import ObjectInfo, ObjectWriter, Storage, StorageError
from honeydue.storage.walk import DEFAULT_PAGE_SIZE, Pair, SortedMerge

if TYPE_CHECKING:  # aioboto3 is only imported where a bucket is configured
    from honeydue.storage.s3 import S3Storage

DEFAULT_CONTENT_TYPE = "application/octet-stream"
log = logging.getLogger(__name__)

SAMPLE = 20


@dataclass
class Tally:
    """A count and its first keys: a report that stays small however large the bucket."""

    count: int = 0
    sample: list[str] = field(default_factory=list)

    def add(self, key: str) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(key)


@dataclass
class BackupReport:
    copied: Tally = field(default_factory=Tally)
    bytes_copied: int = 0
    unchanged: int = 0
    staging_skipped: int = 0
    # Missing from the primary and kept (tombstoned, within the retention), and deleted past it.
    retained: Tally = field(default_factory=Tally)
    expired: Tally = field(default_factory=Tally)
    peak_held: int = 0  # the most listing entries one side of the walk held at once (≤ the page size)


async def same_object(primary: ObjectInfo, copy: ObjectInfo, backup: S3Storage) -> bool:
    """Whether the backup's ``copy`` holds ``primary``'s bytes, judged by size and ETag."""
    if primary.size != copy.size:
        return False
    if primary.etag == copy.etag:
        return True
    # A multipart copy (or a primary whose ETag is not an MD5, such as a multipart original) differs in form:
    # compare against the primary ETag the copy was made from.
    return await backup.source_etag(copy.key) == primary.etag


async def stream_copy(source: Storage, key: str, open_writer: Callable[[str], ObjectWriter]) -> ObjectInfo:
    """Stream ``key`` from ``source`` into a writer (``open_writer(content_type)``): one part in memory at most.

    A body shorter than the GET announced (a cut connection) is aborted, so no truncated copy is published.
    """
    stream = await source.open(key)
    try:
        writer = open_writer(stream.info.content_type or DEFAULT_CONTENT_TYPE)
        received = 0
        try:
            async for chunk in stream.chunks:
                await writer.write(chunk)
                received += len(chunk)
            if received != stream.content_length:
                raise StorageError(f"{key}: read {received} of {stream.content_length} bytes")
        except BaseException:
            with contextlib.suppress(StorageError):
                await writer.abort()
            raise
        return await writer.commit()
    finally:
        await stream.aclose()


async def copy_object(primary: Storage, backup: S3Storage, info: ObjectInfo) -> int:
    """Stream one object from the primary into the backup, recording its ETag; returns the bytes copied."""
    copied = await stream_copy(
        primary, info.key,
        lambda content_type: backup.open_copy_writer(info.key, content_type, info.etag))
    return copied.size


async def backup_storage(
    primary: Storage,
    backup: S3Storage,
    now: datetime,
    *,
    retention: timedelta,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> BackupReport:
    report = BackupReport()
    walk: SortedMerge[ObjectInfo, ObjectInfo] = SortedMerge(
        primary.list("", page_size=page_size), backup.list("", page_size=page_size), page_size)
    present: list[str] = []  # keys in the primary whose tombstone, if any, must go (a batch at a time)
    absent: list[str] = []  # keys only in the backup, checked against their tombstones a batch at a time

    async for pair in walk:
        if is_staging_key(pair.key):
            report.staging_skipped += pair.left is not None
            continue
        if pair.left is None:
            absent.append(pair.key)
            if len(absent) >= page_size:
                await _expire(backup, absent, now, retention, report)
                absent = []
            continue
        present.append(pair.key)
        if len(present) >= page_size:
            await BackupTombstone.filter(key__in=present).delete()
            present = []
        await _copy_if_changed(primary, backup, pair, report)
    if present:
        await BackupTombstone.filter(key__in=present).delete()
    if absent:
        await _expire(backup, absent, now, retention, report)
    report.peak_held = walk.peak_held
    log.info(
        "storage backup: %d copied (%d bytes), %d unchanged, %d staging skipped, %d deleted objects retained, "
        "%d expired; copied e.g. %s; expired e.g. %s",
        report.copied.count, report.bytes_copied, report.unchanged, report.staging_skipped, report.retained.count,
        report.expired.count, report.copied.sample, report.expired.sample,
    )
    return report


async def _copy_if_changed(
    primary: Storage, backup: S3Storage, pair: Pair[ObjectInfo, ObjectInfo], report: BackupReport
) -> None:
    assert pair.left is not None
    if pair.right is not None and await same_object(pair.left, pair.right, backup):
        report.unchanged += 1
        return
    report.bytes_copied += await copy_object(primary, backup, pair.left)
    report.copied.add(pair.key)


async def _expire(
    backup: S3Storage, keys: list[str], now: datetime, retention: timedelta, report: BackupReport
) -> None:
    """Tombstone keys seen missing for the first time; delete the copies missing for longer than ``retention``."""
    since = dict(await BackupTombstone.filter(key__in=keys).values_list("key", "missing_since"))
    new = [BackupTombstone(key=key, missing_since=now) for key in keys if key not in since]
    if new:
        # ignore_conflicts: a concurrent run may have recorded the same key a moment ago.
        await BackupTombstone.bulk_create(new, ignore_conflicts=True)
    for key in keys:
        first_missing = since.get(key, now)
        if first_missing <= now - retention:
            await backup.delete(key)
            await BackupTombstone.filter(key=key).delete()
            report.expired.add(key)
        else:
            report.retained.add(key)


def summary(report: BackupReport) -> dict[str, object]:
    """The report's counts as JSON, for job_runs (the admin console's Storage screen)."""
    return {"configured": True, "copied": report.copied.count, "bytes_copied": report.bytes_copied,
            "unchanged": report.unchanged, "retained": report.retained.count, "expired": report.expired.count,
            "copied_sample": report.copied.sample, "expired_sample": report.expired.sample}
