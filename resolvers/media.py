"""The upload lifecycle (DESIGN.md "Upload lifecycle"): request, finalize, delete, and who may read media.

Clients never send bytes through the API: ``request_upload`` records a PENDING row and hands out a
presigned PUT that binds the declared type and size; ``finalize_upload`` then checks what actually
arrived (size from a HEAD, the magic number from the first bytes) before anything can be served, so an
HTML or SVG file declared ``image/png`` never becomes READY.

The PUT goes to a staging key (``staging_key(media.key)``), never to the served key: the link stays
valid for 15 minutes, also after finalize, and a second PUT to a served key would swap the bytes of a
READY file behind its row and ETag. Finalize copies the checked staging object to the row's key
server-side, checks the copy again (the staging object may be rewritten between check and copy), and
deletes the staging object; a late PUT then only writes a staging object nobody serves.

Finalize claims the row first (a guarded update that only one finalize wins, ``Media.finalize_claim``), so
of two concurrent finalizes only one checks and copies: two copies interleaved with a re-PUT could otherwise
put unchecked bytes under a row the other one had just made READY. The other one waits for the outcome.

The pending-upload limit is counted and the new row inserted in one transaction that first locks the
uploader's user row (PostgreSQL; on SQLite a transaction holds the only connection), so concurrent requests
take turns and cannot all see room for one more.

A store outage is a STORAGE_UNAVAILABLE user error the client can retry, never an INTERNAL error, and it
never leaves a half-changed row.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from honeydue import jobs, residence_file
from honeydue.clock import utc_now
from honeydue.errors import Forbidden, NotFound
from honeydue.media_access import user_may_read
from honeydue.media_policy import (
    SNIFF_BYTES,
    allowed_types_for,
    is_video,
    make_object_key,
    max_size_for,
    normalize_content_type,
    sanitize_filename,
    sniff_matches,
    staging_key,
)
from honeydue.media_variants.images import UnreadableImage
from honeydue.media_variants.job import JOB as VARIANTS_JOB
from honeydue.media_variants.job import wants_variants
from honeydue.media_variants.keys import object_keys
from honeydue.media_variants.strip import STRIPPED_TYPES, strip_metadata
from honeydue.models import Media, MediaPurpose, MediaStatus, Residence, ResidenceRole, User, VariantsStatus
from honeydue.ratelimit import RateLimiter
from honeydue.settings import Settings
from honeydue.storage import ObjectNotFound, Storage, StorageError, UploadTarget
from honeydue.user_errors import InputRejected, UserError, UserErrorCode, reject
from resolvers import idempotency
from resolvers.access import membership_for, require_role, role_at_least, task_for
from resolvers.ids import as_id

log = logging.getLogger(__name__)

UPLOAD_LINK_SECONDS = 15 * 60
RATE_WINDOW_SECONDS = 3600
# A finalize's claim on a row: one that crashed mid-way blocks others for at most the lease. Checks and a
# server-side copy of the largest allowed file take seconds; the lease leaves room for a slow store.
FINALIZE_LEASE = timedelta(minutes=2)
# How long a second finalize waits for the first one's outcome before asking the client to retry.
FINALIZE_WAIT_SECONDS = 30.0
FINALIZE_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class UploadRequest:
    media: Media
    target: UploadTarget


@dataclass(frozen=True)
class UploadSpec:
    """A requestUpload's input as the client sent it (validated by ``request_upload``)."""

    purpose: MediaPurpose
    target_id: str | None
    filename: str
    content_type: str
    size: int
    md5: str | None = None
    idempotency_key: str | None = None


def _storage_unavailable() -> InputRejected:
    return reject(UserErrorCode.STORAGE_UNAVAILABLE, "File storage is unavailable; try again shortly.")


# --- reading ------------------------------------------------------------------------------------------


async def media_for_reader(user: User, media_id: object) -> Media:
    """The media if ``user`` may read it (owner, member of its residence, or avatar of a co-member).

    The rule is the gateway's bearer rule (``honeydue.media_access.user_may_read``), so the API never shows a
    file the gateway would refuse, nor the reverse. Anything else is NOT_FOUND: IDs are not probeable.
    """
    media = await Media.get_or_none(id=as_id(media_id))
    if media is None or not await user_may_read(user, media):
        raise NotFound()
    return media


# --- requestUpload ------------------------------------------------------------------------------------


async def _target_of(user: User, spec: UploadSpec) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(target_id, residence_id) the caller may upload to; NOT_FOUND/FORBIDDEN like every domain write."""
    if spec.purpose is MediaPurpose.AVATAR:
        if spec.target_id not in (None, "", str(user.id)):
            raise reject(UserErrorCode.INVALID_INPUT, "An avatar has no target.", "targetId")
        return user.id, None
    if spec.purpose is MediaPurpose.RESIDENCE_IMPORT:
        if spec.target_id not in (None, ""):
            raise reject(UserErrorCode.INVALID_INPUT, "A residence import file has no target.", "targetId")
        return None, None
    if not spec.target_id:
        raise reject(UserErrorCode.INVALID_INPUT, "Say which task or residence the file is for.", "targetId")
    if spec.purpose is MediaPurpose.COMPLETION_PHOTO:
        task = await task_for(user, spec.target_id, ResidenceRole.EDITOR)
        return task.id, task.residence_id
    residence_id = as_id(spec.target_id)
    await require_role(user, residence_id, ResidenceRole.EDITOR)
    return residence_id, residence_id


def _content_md5(value: str | None) -> str | None:
    """The Content-MD5 header value (base64 of the 16-byte digest) from base64 or hex input."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 32 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 16:
        raise reject(UserErrorCode.INVALID_INPUT, "md5 must be the file's MD5 digest, base64 or hex.", "md5")
    return base64.b64encode(raw).decode()


def _check_declared(settings: Settings, spec: UploadSpec) -> str:
    """The normalised content type, if the declared type and size are acceptable; else every problem."""
    errors: list[UserError] = []
    content_type = normalize_content_type(spec.content_type)
    allowed = allowed_types_for(spec.purpose, settings)
    if content_type not in allowed:
        errors.append(UserError(UserErrorCode.TYPE_NOT_ALLOWED,
                                f"This file type is not accepted here (allowed: {', '.join(allowed)}).",
                                ["contentType"]))
    limit = max_size_for(content_type, settings)
    if spec.size < 1:
        errors.append(UserError(UserErrorCode.INVALID_INPUT, "The file is empty.", ["size"]))
    elif spec.size > limit:
        kind = "Videos" if is_video(content_type) else "Files"
        errors.append(UserError(UserErrorCode.FILE_TOO_LARGE, f"{kind} may be at most {limit} bytes.", ["size"]))
    if errors:
        raise InputRejected(*errors)
    return content_type


async def _presign(storage: Storage, media_key: str, content_type: str, size: int,
                   content_md5: str | None) -> UploadTarget:
    try:
        return await storage.presign_put(staging_key(media_key), content_type, size, content_md5, UPLOAD_LINK_SECONDS)
    except StorageError as exc:
        log.warning("presigning an upload failed: %s", exc)
        raise _storage_unavailable() from exc


async def _hold_pending_slot(user: User, settings: Settings) -> None:
    """Inside the transaction that inserts the row: TOO_MANY_PENDING_UPLOADS unless there is room for one more.

    Locking the user's row makes concurrent requests of one user count and insert in turn (PostgreSQL;
    Tortoise ignores the lock on SQLite, where the transaction already holds the only connection).
    """
    await User.filter(id=user.id).select_for_update().get()
    pending = await Media.filter(owner_id=user.id, status=MediaStatus.PENDING).count()
    if pending >= settings.upload_pending_limit:
        raise reject(UserErrorCode.TOO_MANY_PENDING_UPLOADS,
                     "Finish or delete your unfinished uploads before starting more.")


async def request_upload(
    user: User, settings: Settings, storage: Storage, limiter: RateLimiter, spec: UploadSpec
) -> UploadRequest:
    """Record a PENDING media row and presign the PUT that uploads it (valid 15 minutes).

    With an idempotency key a repeat returns the first request's media, with a fresh link to the same upload.
    """
    request = idempotency.request(user, spec.idempotency_key, "requestUpload", dict(
        purpose=spec.purpose, target_id=spec.target_id, filename=spec.filename, content_type=spec.content_type,
        size=spec.size, md5=spec.md5))

    async def create() -> UploadRequest:
        # Every call counts, valid or not: the limit is on asking, so probing costs quota too.
        if not await limiter.hit(f"upload:{user.id}", settings.upload_rate_per_hour, RATE_WINDOW_SECONDS):
            raise reject(UserErrorCode.UPLOAD_RATE_LIMITED, "Too many uploads this hour; try again later.")
        target_id, residence_id = await _target_of(user, spec)
        content_type = _check_declared(settings, spec)
        content_md5 = _content_md5(spec.md5)
        key = make_object_key(spec.purpose, target_id, user.id, content_type)
        async with idempotency.claimed(request) as media_id:
            await _hold_pending_slot(user, settings)
            target = await _presign(storage, key, content_type, spec.size, content_md5)
            media = await Media.create(
                id=media_id, key=key, owner_id=user.id, purpose=spec.purpose, target_id=target_id,
                residence_id=residence_id, filename=sanitize_filename(spec.filename), content_type=content_type,
                size=spec.size, status=MediaStatus.PENDING,
            )
        return UploadRequest(media=media, target=target)

    async def replay(media_id: uuid.UUID) -> UploadRequest:
        media = await Media.get_or_none(id=media_id, owner_id=user.id)
        if media is None:
            raise idempotency.gone()
        target = await _presign(storage, media.key, media.content_type, media.size, _content_md5(spec.md5))
        return UploadRequest(media=media, target=target)

    return await idempotency.once(request, create, replay)


# --- finalizeUpload -----------------------------------------------------------------------------------


async def _owned(user: User, media_id: object) -> Media:
    """The caller's own media; someone else's is NOT_FOUND, or FORBIDDEN when the caller may read it."""
    media = await media_for_reader(user, media_id)
    if media.owner_id != user.id:
        raise Forbidden("Only the uploader may do this.")
    return media


async def _problem_with_object(
    settings: Settings, storage: Storage, media: Media, key: str
) -> tuple[str | None, str]:
    """(why the object at ``key`` must be rejected or None, its ETag). Raises ObjectNotFound/StorageError."""
    info = await storage.head(key)
    if info.size != media.size:
        return f"The uploaded file is {info.size} bytes, not the declared {media.size}.", info.etag
    limit = max_size_for(media.content_type, settings)
    if info.size > limit:
        return f"The uploaded file is larger than {limit} bytes.", info.etag
    stored_type = normalize_content_type(info.content_type or media.content_type)
    if stored_type != media.content_type:
        return f"The file was stored as {stored_type}, not the declared {media.content_type}.", info.etag
    head = await storage.read_prefix(key, SNIFF_BYTES)
    if not sniff_matches(media.content_type, head):
        return f"The file's content is not {media.content_type}.", info.etag
    if media.purpose == MediaPurpose.RESIDENCE_IMPORT:
        # The whole file (at most STORAGE_MAX_FILE_SIZE, checked above): it must be a residence file importResidence
        # can read, so a mistake is told at upload, not at import.
        problem = residence_file.problem_with(await storage.read_prefix(key, info.size))
        if problem is not None:
            return problem, info.etag
    return None, info.etag


async def _publish(settings: Settings, storage: Storage, media: Media) -> tuple[str | None, str, int]:
    """Check the staging object, copy it to the served key and check that copy; (problem, ETag, served size).

    The second check is what makes the served bytes safe: a PUT to the staging key between the first
    check and the copy would otherwise publish unchecked bytes. The first one keeps junk from being
    copied at all. On a problem both objects are deleted before the row changes, so a store failure
    leaves the row PENDING and a retry starts over.

    An image carrying location or device metadata (``STRIP_IMAGE_METADATA``) is published without it instead
    of copied: see ``_publish_without_metadata``.
    """
    staging = staging_key(media.key)
    problem, etag = await _problem_with_object(settings, storage, media, staging)
    size, published, read_md5 = media.size, False, None
    if problem is None and settings.strip_image_metadata and media.content_type in STRIPPED_TYPES:
        problem, etag, size, published, read_md5 = await _publish_without_metadata(storage, media, staging)
    if problem is None and not published:
        await storage.copy(staging, media.key)
        problem, etag = await _problem_with_object(settings, storage, media, media.key)
        if problem is None and read_md5 is not None and _is_md5(etag) and etag != read_md5:
            # Re-PUT between the metadata check and the copy: what was copied is not what was found clean.
            problem = "The uploaded file changed while it was checked; upload it again."
    if problem is not None:
        await storage.delete(media.key)
        await storage.delete(staging)
    return problem, etag, size


def _is_md5(etag: str) -> bool:
    """A single-part ETag (the MD5 of the bytes, on S3, B2 and the local backend alike)."""
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower())


async def _publish_without_metadata(
    storage: Storage, media: Media, staging: str
) -> tuple[str | None, str, int, bool, str | None]:
    """(problem, ETag, size, published, MD5 of what was read): write the served object from the staging bytes,
    metadata removed.

    The bytes are read once and everything is checked on what was read (size, magic number), so a re-PUT of
    the staging key meanwhile cannot slip past; the served key is written only from them (on S3 a plain PUT
    of the cleaned bytes, never a copy of the original: no version of the served key ever held the metadata).
    An image with nothing to remove is left to the usual copy (``published`` False), which must then copy the
    very bytes found clean (the caller compares the copy's ETag with their MD5); so is a file no decoder reads,
    which nobody can be shown anything of (logged in ``strip``). A HEIC/HEIF that cannot be decoded is refused:
    what it carries cannot be checked.
    """
    data = await storage.read_prefix(staging, media.size + 1)
    if len(data) != media.size or not sniff_matches(media.content_type, data[:SNIFF_BYTES]):
        return "The uploaded file changed while it was checked; upload it again.", "", media.size, False, None
    try:
        cleaned = await asyncio.to_thread(strip_metadata, media.content_type, data)
    except UnreadableImage as exc:
        return f"The file is not a readable {media.content_type} image ({exc}).", "", media.size, False, None
    if cleaned is None:
        return None, "", media.size, False, hashlib.md5(data, usedforsecurity=False).hexdigest()
    await storage.put_bytes(media.key, cleaned, media.content_type)
    info = await storage.head(media.key)
    if info.size != len(cleaned):
        return "The stored file does not match what was written; try again.", info.etag, media.size, True, None
    return None, info.etag, info.size, True, None


async def _claim_for_finalize(media: Media) -> uuid.UUID | None:
    """Claim the PENDING row for this finalize; the claim's token, or None once the row is finished.

    The claim is a guarded update (only a row that is PENDING and unclaimed, or whose claim outlived the
    lease), so exactly one of concurrent finalizes gets it. The others wait for the outcome; one still
    waiting after FINALIZE_WAIT_SECONDS is asked to retry.
    """
    deadline = time.monotonic() + FINALIZE_WAIT_SECONDS
    while media.status == MediaStatus.PENDING:
        token, now = uuid.uuid4(), utc_now()
        unclaimed = Q(Q(finalize_claim=None), Q(updated_at__lt=now - FINALIZE_LEASE), join_type="OR")
        # update() bypasses auto_now; updated_at is the claim's clock.
        if await Media.filter(Q(id=media.id), Q(status=MediaStatus.PENDING), unclaimed).update(
                finalize_claim=token, updated_at=now):
            return token
        if time.monotonic() >= deadline:
            raise reject(UserErrorCode.STORAGE_UNAVAILABLE,
                         "Another finalizeUpload of this file is still checking it; try again shortly.", "mediaId")
        await asyncio.sleep(FINALIZE_POLL_SECONDS)
        await media.refresh_from_db()
    return None


async def finalize_upload(user: User, settings: Settings, storage: Storage, media_id: object) -> Media:
    """Check the uploaded object and mark the media READY or REJECTED; a finished media is returned as is."""
    media = await _owned(user, media_id)
    token = await _claim_for_finalize(media)
    if token is None:
        return media
    finished = False
    try:
        problem, etag, size = await _publish(settings, storage, media)
        now = utc_now()
        changes: dict[str, object]
        if problem is not None:
            changes = {"status": MediaStatus.REJECTED, "reject_reason": problem[:255]}
        else:
            # The size and ETag of the bytes served (metadata removal may have made an image smaller).
            changes = {"status": MediaStatus.READY, "etag": etag, "size": size, "finalized_at": now}
            if wants_variants(media.content_type):
                changes["variants_status"] = VariantsStatus.PENDING
        # Only the claim's holder writes (a finalize that outlived its lease lost the row to another one).
        moved = await Media.filter(id=media.id, finalize_claim=token, status=MediaStatus.PENDING).update(
            **changes, finalize_claim=None, updated_at=now)
        finished = True
    except ObjectNotFound:
        raise reject(UserErrorCode.UPLOAD_MISSING, "Nothing was uploaded yet; PUT the file, then finalize.",
                     "mediaId") from None
    except StorageError as exc:
        log.warning("finalizing media %s failed: %s", media.id, exc)
        raise _storage_unavailable() from exc
    finally:
        if not finished:  # the row stays PENDING for a retry; let the next finalize start at once
            await Media.filter(id=media.id, finalize_claim=token).update(finalize_claim=None)
    if problem is None and moved:
        await _drop_staging(storage, media)
    await media.refresh_from_db()
    if moved and media.status == MediaStatus.READY:
        if media.variants_status == VariantsStatus.PENDING:
            # After the commit, and never awaited: a lost message is re-sent by sweep_media_variants.
            jobs.enqueue(VARIANTS_JOB, str(media.id))
        if media.purpose == MediaPurpose.AVATAR:
            await replace_avatar(user, storage, media)
        elif media.purpose == MediaPurpose.RESIDENCE_PHOTO:
            await replace_residence_photo(storage, media)
    return media


async def _drop_staging(storage: Storage, media: Media) -> None:
    """Delete the published upload's staging object; a leftover is harmless (never served) and reconciled."""
    try:
        await storage.delete(staging_key(media.key))
    except StorageError as exc:
        log.warning("could not delete the staging object of media %s: %s", media.id, exc)


async def replace_avatar(user: User, storage: Storage, media: Media) -> None:
    """Make ``media`` the user's avatar and delete the one it replaces (row and object)."""
    user.avatar_id = media.id
    await _replace_single(storage, User, user.id, "avatar_id", media, owner_id=user.id)


async def replace_residence_photo(storage: Storage, media: Media) -> None:
    """Make ``media`` its residence's photo and delete the one it replaces (row and object)."""
    assert media.residence_id is not None  # requestUpload sets it for RESIDENCE_PHOTO
    await _replace_single(storage, Residence, media.residence_id, "photo_id", media,
                          residence_id=media.residence_id, purpose=MediaPurpose.RESIDENCE_PHOTO)


async def _replace_single(
    storage: Storage, model: type[User] | type[Residence], row_id: uuid.UUID, column: str, media: Media,
    **old_must_match: Any,
) -> None:
    """Point ``model``'s ``column`` (a one-file slot: avatar, residence photo) at ``media``; delete what it held.

    The slot's row is locked while it is read and changed, so two photos finalized at once replace one another
    in turn and neither old file is left behind. The old file is deleted only if it still matches
    ``old_must_match`` (the slot names a file of the same owner/residence), object first, then row.
    """
    async with in_transaction():
        row = await model.filter(id=row_id).select_for_update().first()
        if row is None:  # the user or residence went away meanwhile; its media went with it
            return
        old_id = getattr(row, column)
        await model.filter(id=row_id).update(**{column: media.id})
    if old_id is None or old_id == media.id:
        return
    old = await Media.get_or_none(id=old_id, **old_must_match)
    if old is None:
        return
    try:
        for key in object_keys(old.key):
            await storage.delete(key)
    except StorageError as exc:
        # The new file is in place; the old one stays listed among its owner's media for deleteMedia.
        log.warning("could not delete replaced media %s: %s", old.id, exc)
        return
    await old.delete()


# --- deleteMedia --------------------------------------------------------------------------------------


async def _may_delete(user: User, media: Media) -> bool:
    if media.owner_id == user.id:
        return True
    residence_id = media.residence_id
    if residence_id is None:
        return False
    membership = await membership_for(user, residence_id)
    return membership is not None and role_at_least(membership.role, ResidenceRole.EDITOR)


async def delete_media(user: User, storage: Storage, media_id: object, detach: bool) -> None:
    """Delete the object, then the row; media still attached needs ``detach`` (else MEDIA_IN_USE)."""
    media = await media_for_reader(user, media_id)
    if not await _may_delete(user, media):
        raise Forbidden("Only the uploader or an editor of the residence may delete this file.")
    avatar_of = await User.filter(avatar_id=media.id).values_list("id", flat=True)
    photo_of = await Residence.filter(photo_id=media.id).values_list("id", flat=True)
    attached = media.completion_id is not None or media.document_id is not None
    if (attached or avatar_of or photo_of) and not detach:
        raise reject(UserErrorCode.MEDIA_IN_USE,
                     "The file is still attached; pass detach: true to remove it anyway.", "mediaId")
    try:
        # The original, its upload's staging object (an upload never finalized, or a late PUT) and its variants.
        for key in object_keys(media.key):
            await storage.delete(key)
    except StorageError as exc:
        log.warning("deleting media %s failed: %s", media.id, exc)
        raise _storage_unavailable() from exc
    async with in_transaction():
        if avatar_of:
            await User.filter(id__in=list(avatar_of), avatar_id=media.id).update(avatar_id=None)
        if photo_of:
            await Residence.filter(id__in=list(photo_of), photo_id=media.id).update(photo_id=None)
        await Media.filter(id=media.id).delete()
    if user.id in avatar_of:
        user.avatar_id = None
