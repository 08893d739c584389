"""Delete what is past its use: uploads that never became usable, expired idempotency keys, action links and
account email links.

Uploads: PENDING media past the age limit and REJECTED leftovers.

The object goes first and the row after: a crash between the two leaves a row whose object is already gone,
which the next run deletes again (``Storage.delete`` is idempotent). The other order could leave an object
with no row, which only the reconcile job would ever find.

A media's bytes may be in two objects: the staging key its upload link writes (``staging_key``) and the
served key finalize copies to; a finalized one may have variants too (``media_variants.keys``). All go,
whichever exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from honeydue import account_tokens, notification_actions
from honeydue.media_variants.keys import object_keys
from honeydue.models import IDEMPOTENCY_WINDOW, IdempotencyKey, Media, MediaStatus
from honeydue.storage.base import Storage

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class CleanupReport:
    pending: int = 0
    rejected: int = 0


async def cleanup_pending_uploads(storage: Storage, now: datetime, max_age: timedelta) -> CleanupReport:
    """Delete PENDING and REJECTED media created before ``now - max_age``, object first, row after.

    REJECTED rows get the same grace as PENDING ones so a client can still read the reject reason for a
    while; their object was normally deleted at finalize time already, this catches the ones that were not.
    """
    cutoff = now - max_age
    report = CleanupReport()
    for status in (MediaStatus.PENDING, MediaStatus.REJECTED):
        while True:
            batch = await Media.filter(status=status, created_at__lt=cutoff).order_by("created_at").limit(BATCH)
            if not batch:
                break
            for media in batch:
                # A store outage raises: the row stays for the next run.
                for key in object_keys(media.key):  # staging, served and variant objects, whichever exist
                    await storage.delete(key)
                await Media.filter(id=media.id, status=status).delete()
            if status is MediaStatus.PENDING:
                report.pending += len(batch)
            else:
                report.rejected += len(batch)
    log.info("pending-upload cleanup: %d pending, %d rejected deleted", report.pending, report.rejected)
    return report


async def expire_action_tokens(now: datetime) -> int:
    """Delete a reminder's Done and Snooze links a week after they expired; returns how many.

    Two rows per task reminder, channel and member: without this the table only grows.
    """
    deleted = await notification_actions.delete_expired(now)
    log.info("action links expired: %d deleted", deleted)
    return deleted


async def expire_account_tokens(now: datetime) -> int:
    """Delete account email links (reset, verify, email change) a week after they were used, voided or expired;
    returns how many.

    Every reset request, verification email and email change adds a row: without this the table only grows.
    """
    deleted = await account_tokens.delete_spent(now)
    log.info("account links expired: %d deleted", deleted)
    return deleted


async def expire_idempotency_keys(now: datetime) -> int:
    """Delete idempotency keys older than their 24-hour window; returns how many.

    An expired key already answers no repeat and may be claimed again (``resolvers.idempotency``); this only
    keeps the table from growing.
    """
    deleted = await IdempotencyKey.filter(created_at__lt=now - IDEMPOTENCY_WINDOW).delete()
    log.info("idempotency keys expired: %d deleted", deleted)
    return deleted
