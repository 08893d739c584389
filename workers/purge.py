"""Purge a deleted account's objects from the bucket, and re-send purges that have not finished.

``deleteAccount`` writes an ``AccountPurge`` row (prefixes and keys captured while the rows still existed)
in the same transaction that deletes the user, then enqueues ``purge_account``. The message may never
arrive (Redis down at that moment) or its worker may die half-way; the sweeper re-sends every purge not
marked done, and a purge is idempotent (deleting a missing object is not an error), so running one twice or
concurrently is harmless. The record is marked done only after every object is gone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F

from honeydue.jobs import resend_each
from honeydue.media_variants.keys import object_keys
from honeydue.models import AccountPurge, BackupTombstone, Media
from honeydue.storage.base import Storage

log = logging.getLogger(__name__)

DELETE_CONCURRENCY = 8
# A purge younger than this was most likely just enqueued by deleteAccount: leave it to that message.
SWEEP_MIN_AGE = timedelta(minutes=2)


@dataclass
class PurgeResult:
    deleted: int = 0
    deleted_from_backup: int = 0
    already_done: bool = False


async def _delete_all(storage: Storage, keys: Iterable[str]) -> int:
    semaphore = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def delete(key: str) -> None:
        async with semaphore:
            await storage.delete(key)

    keys = list(keys)
    await asyncio.gather(*(delete(k) for k in keys))
    return len(keys)


async def purge_account(
    purge_id: uuid.UUID | str, storage: Storage, now: datetime, *, backup: Storage | None = None
) -> PurgeResult:
    """Delete every object under the record's prefixes and every listed key, then mark the record done.

    With a backup bucket the same objects go from it too, at once (no retention): the right to be forgotten
    covers backups. Their tombstones (``workers.backup``) go with them.
    """
    purge = await AccountPurge.get_or_none(id=purge_id)
    if purge is None or purge.done_at is not None:
        return PurgeResult(already_done=True)
    await AccountPurge.filter(id=purge.id).update(attempts=F("attempts") + 1)
    result = PurgeResult()
    try:
        result.deleted = await _purge_objects(storage, purge)
        if backup is not None:
            result.deleted_from_backup = await _purge_objects(backup, purge)
            await BackupTombstone.filter(key__in=[k for key in purge.keys for k in object_keys(key)]).delete()
            for prefix in purge.prefixes:
                await BackupTombstone.filter(key__startswith=prefix).delete()
        # Rows deleteAccount could not see (an upload finished after it ran) would point at nothing now.
        await Media.filter(key__in=list(purge.keys)).delete()
    except Exception as exc:
        await AccountPurge.filter(id=purge.id).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    await AccountPurge.filter(id=purge.id).update(done_at=now, last_error=None)
    log.info("purge %s done: %d objects deleted, %d from the backup", purge.id, result.deleted,
             result.deleted_from_backup)
    return result


async def _purge_objects(storage: Storage, purge: AccountPurge) -> int:
    """Delete the purge's objects from one bucket; returns how many deletes were sent."""
    deleted = 0
    for prefix in purge.prefixes:
        # Listing and deleting a page at a time keeps memory flat for accounts with many files.
        page: list[str] = []
        async for info in storage.list(prefix):
            page.append(info.key)
            if len(page) >= 100:
                deleted += await _delete_all(storage, page)
                page = []
        deleted += await _delete_all(storage, page)
    # Listed keys may lie outside the prefixes (task photos), and so may their staging and variant objects.
    deleted += await _delete_all(storage, [k for key in purge.keys for k in object_keys(key)])
    return deleted


async def sweep_account_purges(
    now: datetime, send: Callable[[str], object], min_age: timedelta = SWEEP_MIN_AGE
) -> list[str]:
    """Re-send every purge not done and older than ``min_age``; returns their ids."""
    pending = await AccountPurge.filter(done_at=None, created_at__lt=now - min_age).values_list("id", flat=True)
    ids = resend_each(pending, send)
    if ids:
        log.warning("re-sent %d unfinished account purges", len(ids))
    return ids
