"""The data export jobs: build a requested export, re-send lost builds, and delete expired exports.

``requestDataExport`` writes a PENDING ``DataExport`` row and sends ``build_data_export``. The build:

1. claims the row with a guarded update (PENDING, no live claim, attempts left), so two deliveries of one
   message, or a re-send racing the original, never build twice at once;
2. streams the zip into ``exports/<user_id>/<export_id>.zip`` (``workers.export_builder``);
3. publishes it in one transaction: a READY ``DATA_EXPORT`` media row (so the gateway serves it by its
   signed link like any other file, and purge, clean-up and reconcile know it), the export READY with its
   size and expiry, and the in-app ``DATA_EXPORT_READY`` notification unless the user turned that type off;
4. after the commit, queues the ``data_export_ready`` email with the download link (transactional: the
   user asked for it).

An export whose row vanished meanwhile (the account was deleted) has its object deleted again at once. A
failed build records its error and frees the claim; after ``MAX_ATTEMPTS`` the export is FAILED (it does not
count against the one-a-day limit, so the user can ask again). The build message is sent once
(``max_retries=0``); ``sweep_data_exports`` re-sends builds whose message was lost or whose worker died.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from honeydue.clock import utc_now
from honeydue.data_exports import (
    ZIP,
    download_url,
    export_expiry,
    export_filename,
    export_key,
)
from honeydue.jobs import resend_each
from honeydue.mail.outbox import queue_email
from honeydue.models import (
    DataExport,
    DataExportStatus,
    Media,
    MediaPurpose,
    MediaStatus,
    Notification,
    NotificationPreference,
    NotificationType,
    User,
)
from honeydue.storage.base import ObjectInfo, Storage
from workers.export_builder import write_export

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# A build's claim: a run older than this died (the actor's time limit is the same hour), and may be redone.
BUILD_LEASE = timedelta(hours=1)
# A PENDING export younger than this most likely has its message on the way: leave it to that message.
SWEEP_MIN_AGE = timedelta(minutes=2)
BATCH = 200
EMAIL_KIND = "data_export_ready"


class _NoLongerPending(Exception):
    """The export row is gone or was finished by someone else while this build ran: roll back."""


async def _claim(export_id: uuid.UUID, now: datetime) -> bool:
    free = Q(Q(claimed_at=None), Q(claimed_at__lt=now - BUILD_LEASE), join_type="OR")
    claimed = await DataExport.filter(free, id=export_id, status=DataExportStatus.PENDING,
                                      attempts__lt=MAX_ATTEMPTS).update(claimed_at=now, attempts=F("attempts") + 1)
    return claimed == 1


async def _record_failure(export_id: uuid.UUID, error: BaseException) -> None:
    text = f"{type(error).__name__}: {error}"[:2000]
    await DataExport.filter(id=export_id, status=DataExportStatus.PENDING).update(claimed_at=None, last_error=text)
    failed = await DataExport.filter(id=export_id, status=DataExportStatus.PENDING,
                                     attempts__gte=MAX_ATTEMPTS).update(status=DataExportStatus.FAILED)
    log.warning("data export %s: attempt failed (%s)%s", export_id, text, "; export FAILED" if failed else "")


async def _wants_in_app(user_id: uuid.UUID) -> bool:
    off = await NotificationPreference.filter(user_id=user_id, type=NotificationType.DATA_EXPORT_READY,
                                              enabled=False).exists()
    return not off


def _size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")


def _expiry_text(expires_at: datetime) -> str:
    return f"{expires_at:%d %B %Y, %H:%M} UTC"


async def _publish(export: DataExport, user: User, key: str, info: ObjectInfo, ready_at: datetime) -> datetime:
    """Make the export READY with its media row and notification, in one transaction; returns its expiry."""
    expires_at = export_expiry(ready_at)
    async with in_transaction():
        # The user's row first, as deleteAccount takes it: an account deleted meanwhile is seen here, and one
        # being deleted waits for this transaction instead of deadlocking with it on PostgreSQL.
        if await User.filter(id=user.id).select_for_update().first() is None:
            raise _NoLongerPending()
        published = await DataExport.filter(id=export.id, status=DataExportStatus.PENDING).update(
            status=DataExportStatus.READY, size_bytes=info.size, ready_at=ready_at, expires_at=expires_at,
            claimed_at=None, last_error=None)
        if not published:
            raise _NoLongerPending()
        media = await Media.create(
            key=key, owner_id=user.id, purpose=MediaPurpose.DATA_EXPORT, target_id=export.id,
            filename=export_filename(ready_at), content_type=ZIP, size=info.size, status=MediaStatus.READY,
            etag=info.etag, finalized_at=ready_at,
        )
        await DataExport.filter(id=export.id).update(media_id=media.id)
        if await _wants_in_app(user.id):
            await Notification.create(
                user_id=user.id, type=NotificationType.DATA_EXPORT_READY, title="Your data export is ready",
                body=f"Your data ({_size_text(info.size)}) is ready to download from your account until "
                     f"{_expiry_text(expires_at)}. The link is also in the email we sent you.")
    return expires_at


async def _email(user: User, links: ExportLinks, key: str, size: int, expires_at: datetime) -> None:
    """Queue the email with the link; a failure is logged: the export is READY and listed in the app anyway."""
    url = download_url(links.signing_keys, links.gateway_url, key, expires_at)
    try:
        await queue_email(to=user.email, kind=EMAIL_KIND, user_id=user.id, transactional=True, context={
            "display_name": user.display_name, "download_url": url, "size": _size_text(size),
            "expires_at": _expiry_text(expires_at),
        })
    except Exception:
        log.exception("data export email to user %s not queued", user.id)


@dataclass(frozen=True)
class ExportLinks:
    """What the download link in the email is made with: ``MEDIA_SIGNING_KEY`` and ``PUBLIC_GATEWAY_URL``."""

    signing_keys: list[bytes]
    gateway_url: str


async def build_data_export(export_id: uuid.UUID | str, storage: Storage, links: ExportLinks) -> bool:
    """Build, store and publish one export; True when this run made it READY (False: nothing to do)."""
    export_id = uuid.UUID(str(export_id))
    if not await _claim(export_id, utc_now()):
        log.info("data export %s: not claimed (finished, failed, gone, or being built)", export_id)
        return False
    export = await DataExport.get(id=export_id)
    user = await User.get(id=export.user_id)
    key = export_key(user.id, export.id)
    try:
        info = await write_export(storage, key, user, utc_now())
    except BaseException as exc:
        await _record_failure(export_id, exc)
        raise
    try:
        expires_at = await _publish(export, user, key, info, utc_now())
    except _NoLongerPending:
        log.info("data export %s: no longer pending (account deleted?); its zip is deleted", export_id)
        await storage.delete(key)
        return False
    except BaseException as exc:
        await _record_failure(export_id, exc)
        raise
    await _email(user, links, key, info.size, expires_at)
    log.info("data export %s ready: %d bytes, until %s", export_id, info.size, expires_at.isoformat())
    return True


async def sweep_data_exports(now: datetime, send: Callable[[str], object],
                             min_age: timedelta = SWEEP_MIN_AGE) -> list[str]:
    """Re-send the builds of PENDING exports nobody is working on; FAIL those out of attempts. Returns re-sent ids."""
    idle = Q(Q(claimed_at=None), Q(claimed_at__lt=now - BUILD_LEASE), join_type="OR")
    stuck = DataExport.filter(idle, status=DataExportStatus.PENDING, created_at__lt=now - min_age)
    exhausted = await stuck.filter(attempts__gte=MAX_ATTEMPTS).update(status=DataExportStatus.FAILED)
    if exhausted:
        log.warning("%d data exports FAILED after %d attempts", exhausted, MAX_ATTEMPTS)
    ids = resend_each(await stuck.filter(attempts__lt=MAX_ATTEMPTS).values_list("id", flat=True), send)
    if ids:
        log.warning("re-sent %d data export builds", len(ids))
    return ids


@dataclass
class ExpiryReport:
    expired: int = 0


async def expire_data_exports(storage: Storage, now: datetime) -> ExpiryReport:
    """Delete the zip of every READY export past its expiry (object, then media row) and mark it EXPIRED.

    Object first: a store outage raises and leaves the export READY for the next run (its link has expired
    already, so nobody can fetch it meanwhile). Deleting a missing object is not an error, so a run that
    died half-way is simply redone.
    """
    report = ExpiryReport()
    while True:
        batch = await DataExport.filter(status=DataExportStatus.READY, expires_at__lte=now).order_by(
            "expires_at").limit(BATCH)
        if not batch:
            break
        for export in batch:
            await storage.delete(export_key(export.user_id, export.id))
            async with in_transaction():
                if export.media_id is not None:
                    await Media.filter(id=export.media_id).delete()
                await DataExport.filter(id=export.id, status=DataExportStatus.READY).update(
                    status=DataExportStatus.EXPIRED, media_id=None)
            report.expired += 1
    log.info("data exports expired: %d", report.expired)
    return report
