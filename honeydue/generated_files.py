"""Files the server makes for a user (residence exports, residence reports): stored, linked, expired in one place.

Data exports (``workers.data_exports``) stream their zip and keep their own record, but are expired by the same
periodic job (``workers.actors.expire_generated_files``): one clean-up for every generated file.

* Where they live: ``exports/<user_id>/<uuid>.<ext>`` (DESIGN.md "Object keys"), so an account purge finds
  them under the user's ``exports/`` prefix, and a new file is always a new key.
* What they are: a READY media row owned by the user, with no residence (only the user who asked reads it
  through the API; the signed link is what they share), whose purpose says what made it.
* How long they live: ``GENERATED_FILE_LIFETIME`` (24 hours). The download link is a signed gateway link
  that ends with the file; the ``expire_generated_files`` job deletes the file once no link to it can work
  any more (its lifetime plus the signing window, since link expiries are snapped up to the window).

A new kind of generated file adds its purpose to ``GENERATED_PURPOSES`` and calls ``store_generated_file``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from honeydue.clock import utc_now
from honeydue.data_exports import exports_prefix
from honeydue.media_policy import sanitize_filename
from honeydue.models import Media, MediaPurpose, MediaStatus, User
from honeydue.signing import WINDOW_SECONDS, sign_media_url, snap_expiry
from honeydue.storage import Storage, StorageError

if TYPE_CHECKING:  # the services container imports the storage and database layers this module sits beside
    from honeydue.services import Services

log = logging.getLogger(__name__)

GENERATED_FILE_LIFETIME = timedelta(hours=24)
# The purposes of files the server makes; requestUpload cannot name them, the expiry job deletes them.
GENERATED_PURPOSES: frozenset[MediaPurpose] = frozenset({MediaPurpose.RESIDENCE_EXPORT, MediaPurpose.RESIDENCE_REPORT})
# The object key's extension per content type of a generated file.
GENERATED_EXTENSIONS: dict[str, str] = {"application/json": "json", "application/pdf": "pdf", "application/zip": "zip"}
EXPIRY_BATCH = 200


def generated_key(user_id: uuid.UUID | str, content_type: str) -> str:
    return f"{exports_prefix(user_id)}{uuid.uuid4()}.{GENERATED_EXTENSIONS[content_type]}"


async def store_generated_file(
    storage: Storage, user: User, purpose: MediaPurpose, filename: str, content_type: str, data: bytes, *,
    target_id: uuid.UUID | None = None,
) -> Media:
    """Write ``data`` under ``exports/<user_id>/`` and record it as the user's READY media of ``purpose``.

    ``target_id`` records what the file is about (the residence exported), for the record only. Raises
    ``StorageError`` when the store fails; then nothing is recorded (and a written object is removed).
    """
    if purpose not in GENERATED_PURPOSES:
        raise ValueError(f"{purpose} is not a generated-file purpose")
    key = generated_key(user.id, content_type)
    await storage.put_bytes(key, data, content_type)
    try:
        info = await storage.head(key)
        return await Media.create(
            key=key, owner_id=user.id, purpose=purpose, target_id=target_id, residence_id=None,
            filename=sanitize_filename(filename), content_type=content_type, size=len(data),
            status=MediaStatus.READY, etag=info.etag, finalized_at=utc_now(),
        )
    except BaseException:
        try:
            await storage.delete(key)
        except StorageError as exc:  # the reconcile job reports an object without a row
            log.warning("could not remove the unrecorded generated file %s: %s", key, exc)
        raise


def expires_at(media: Media) -> datetime:
    """When a generated file's download link stops working (and the file may go)."""
    return media.created_at + GENERATED_FILE_LIFETIME


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


def download_link(services: Services, media: Media, now: float | None = None) -> DownloadLink:
    """The signed gateway link of a generated file, valid until its lifetime ends (snapped up to the hour)."""
    now = time.time() if now is None else now
    seconds_left = max(1, int(expires_at(media).timestamp() - now))
    url = sign_media_url(services.signing_keys, services.settings.effective_public_gateway_url, media.key,
                         seconds_left, now=now)
    return DownloadLink(url, datetime.fromtimestamp(snap_expiry(now, seconds_left), UTC))


async def expire_generated_files(storage: Storage, now: datetime) -> int:
    """Delete generated files no link can reach any more, object first, row after; returns how many.

    A store outage raises: the rows stay for the next run.
    """
    cutoff = now - GENERATED_FILE_LIFETIME - timedelta(seconds=WINDOW_SECONDS)
    deleted = 0
    while True:
        batch = await Media.filter(purpose__in=list(GENERATED_PURPOSES), created_at__lt=cutoff).order_by(
            "created_at").limit(EXPIRY_BATCH)
        if not batch:
            break
        for media in batch:
            await storage.delete(media.key)
            await Media.filter(id=media.id).delete()
        deleted += len(batch)
    log.info("generated files expired: %d deleted", deleted)
    return deleted
