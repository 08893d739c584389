"""Bring objects back from the backup bucket, and check the backup (``honeydue storage restore|verify-backup``).

A restore copies from the backup to the primary bucket, streaming (bounded memory), only what the primary
lacks or holds differently; an object already there is left alone, so a restore can be repeated. The scope
is one key, or a user's or a residence's key prefixes (DESIGN.md, object keys):

* a user: ``users/<id>/``, ``exports/<id>/``, and the keys of media rows they own outside those prefixes;
* a residence: ``residences/<id>/``, ``tasks/<task_id>/`` of each of its tasks, and its media rows' keys.

The media rows that still exist are brought back with their objects (``revive_rows``): a READY row whose
object had vanished is served again (its ETag and size now describe the restored bytes), and a row the app
retired (REJECTED after it had been published, i.e. discarded with its task, completion or document) is READY
again, unattached, for its owner to attach again. A row REJECTED at finalize was never published, so no backup
of it exists and it stays as it is; a row already deleted is not recreated (reconcile reports the object).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tortoise.expressions import Q

from honeydue.media_policy import is_staging_key
from honeydue.media_variants.keys import variant_keys, variant_owner
from honeydue.models import BackupTombstone, Media, MediaStatus, Task
from honeydue.storage.base import ObjectInfo, ObjectNotFound, Storage
from honeydue.storage.walk import DEFAULT_PAGE_SIZE, SortedMerge
from workers.backup import Tally, same_object, stream_copy

if TYPE_CHECKING:
    from honeydue.storage.s3 import S3Storage

log = logging.getLogger(__name__)

ROW_BATCH = 200


@dataclass
class RestoreReport:
    restored: Tally = field(default_factory=Tally)
    already_present: int = 0
    not_in_backup: Tally = field(default_factory=Tally)  # asked-for keys the backup does not hold
    rows_revived: int = 0


@dataclass
class VerifyReport:
    objects: int = 0
    missing: Tally = field(default_factory=Tally)  # in the bucket, not in the backup
    different: Tally = field(default_factory=Tally)  # another size or ETag in the backup
    # In the backup only: deleted by the app, kept for BACKUP_RETENTION_DAYS (not a fault).
    retained: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing.count or self.different.count)


async def _restore_one(primary: Storage, backup: S3Storage, info: ObjectInfo) -> None:
    await stream_copy(backup, info.key, lambda content_type: primary.open_writer(info.key, content_type))


async def revive_rows(primary: Storage, keys: list[str]) -> int:
    """Make the media rows of ``keys`` (now present in the primary) served again; returns how many changed."""
    revived = 0
    published = Q(status=MediaStatus.READY) | Q(status=MediaStatus.REJECTED, finalized_at__not_isnull=True)
    rows = await Media.filter(published, key__in=keys)
    for media in rows:
        info = await primary.head(media.key)
        # Guarded on the status read: a row the app changed meanwhile is left to the app.
        revived += await Media.filter(id=media.id, status=media.status).update(
            status=MediaStatus.READY, reject_reason=None, etag=info.etag, size=info.size)
    return revived


async def restore_key(primary: Storage, backup: S3Storage, key: str) -> RestoreReport:
    """Restore ``key`` and, when it is a media's, the variants stored next to it (those the backup holds)."""
    report = await _restore_one_key(primary, backup, key)
    if variant_owner(key) is None and report.not_in_backup.count == 0:
        for variant in variant_keys(key):
            one = await _restore_one_key(primary, backup, variant)
            for restored in one.restored.sample:
                report.restored.add(restored)
            report.already_present += one.already_present
    return report


async def _restore_one_key(primary: Storage, backup: S3Storage, key: str) -> RestoreReport:
    report = RestoreReport()
    try:
        copy = await backup.head(key)
    except ObjectNotFound:
        report.not_in_backup.add(key)
        return report
    try:
        current: ObjectInfo | None = await primary.head(key)
    except ObjectNotFound:
        current = None
    if current is not None and await same_object(current, copy, backup):
        report.already_present += 1
    else:
        await _restore_one(primary, backup, copy)
        report.restored.add(key)
    await BackupTombstone.filter(key=key).delete()
    report.rows_revived += await revive_rows(primary, [key])
    return report


async def restore_prefixes(
    primary: Storage, backup: S3Storage, prefixes: list[str], keys: list[str], page_size: int = DEFAULT_PAGE_SIZE
) -> RestoreReport:
    """Restore everything under ``prefixes`` plus the listed ``keys`` (outside them) that the primary lacks."""
    report = RestoreReport()
    for prefix in prefixes:
        await _restore_walk(primary, backup, prefix, page_size, report)
    for key in keys:
        if any(key.startswith(p) for p in prefixes):
            continue
        one = await restore_key(primary, backup, key)
        for restored in one.restored.sample:
            report.restored.add(restored)
        report.already_present += one.already_present
        report.rows_revived += one.rows_revived
        # A row's key the backup lacks is not a failure here: a scope's rows include uploads never finished.
    return report


async def _restore_walk(
    primary: Storage, backup: S3Storage, prefix: str, page_size: int, report: RestoreReport
) -> None:
    walk: SortedMerge[ObjectInfo, ObjectInfo] = SortedMerge(
        primary.list(prefix, page_size=page_size), backup.list(prefix, page_size=page_size), page_size)
    present: list[str] = []
    async for pair in walk:
        if pair.right is None or is_staging_key(pair.key):
            continue
        if pair.left is not None and await same_object(pair.left, pair.right, backup):
            report.already_present += 1
        else:
            await _restore_one(primary, backup, pair.right)
            report.restored.add(pair.key)
        present.append(pair.key)
        if len(present) >= ROW_BATCH:
            await _after_restore(primary, present, report)
            present = []
    if present:
        await _after_restore(primary, present, report)


async def _after_restore(primary: Storage, keys: list[str], report: RestoreReport) -> None:
    await BackupTombstone.filter(key__in=keys).delete()
    report.rows_revived += await revive_rows(primary, keys)


async def user_scope(user_id: uuid.UUID) -> tuple[list[str], list[str]]:
    """A user's key prefixes, and the keys of their media rows (task photos lie outside the prefixes)."""
    keys = await Media.filter(owner_id=user_id).values_list("key", flat=True)
    return [f"users/{user_id}/", f"exports/{user_id}/"], _with_variants(keys)


async def residence_scope(residence_id: uuid.UUID) -> tuple[list[str], list[str]]:
    """A residence's prefix and its tasks' prefixes, and the keys of its media rows."""
    tasks = await Task.filter(residence_id=residence_id).values_list("id", flat=True)
    keys = await Media.filter(residence_id=residence_id).values_list("key", flat=True)
    return [f"residences/{residence_id}/", *(f"tasks/{t}/" for t in tasks)], _with_variants(keys)


def _with_variants(keys: Iterable[object]) -> list[str]:
    """Rows' keys and their variants' keys (those outside the scope's prefixes are restored one by one)."""
    return [k for key in keys for k in (str(key), *variant_keys(str(key)))]


async def verify_backup(primary: Storage, backup: S3Storage, page_size: int = DEFAULT_PAGE_SIZE) -> VerifyReport:
    report = VerifyReport()
    walk: SortedMerge[ObjectInfo, ObjectInfo] = SortedMerge(
        primary.list("", page_size=page_size), backup.list("", page_size=page_size), page_size)
    async for pair in walk:
        if is_staging_key(pair.key):
            continue
        if pair.left is None:
            report.retained += 1
            continue
        report.objects += 1
        if pair.right is None:
            report.missing.add(pair.key)
        elif not await same_object(pair.left, pair.right, backup):
            report.different.add(pair.key)
    return report
