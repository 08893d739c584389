"""The Media type (uploaded files), its download links, and the upload lifecycle's query and mutations.

Links are only made for READY media: a PENDING or REJECTED file has not passed the magic-number check
and must never be served. ``url`` points at our gateway and is CDN-cacheable (its expiry snaps to a
window); ``directUrl`` is a presigned GET straight from the bucket (none on the local backend).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.media_policy import INLINE_SAFE_TYPES, content_disposition
from honeydue.signing import sign_media_url
from honeydue.storage import UploadTarget as StoredUploadTarget
from resolvers import media as media_rules
from schema.context import Context
from schema.mutation import OkResult, mutation

MediaStatus = strawberry.enum(models.MediaStatus, name="MediaStatus")
UploadPurpose = strawberry.enum(models.MediaPurpose, name="UploadPurpose")

DEFAULT_LINK_SECONDS = 3600
MAX_LINK_SECONDS = 7 * 24 * 3600  # a SigV4 presigned link cannot live longer; gateway links follow suit


def link_lifetime(expires_in: int | None) -> int:
    """``expiresIn`` clamped to 1 s .. 7 days (default 1 h)."""
    return max(1, min(DEFAULT_LINK_SECONDS if expires_in is None else expires_in, MAX_LINK_SECONDS))


@strawberry.type
class Media:
    id: strawberry.ID
    filename: str
    content_type: str
    size: int
    created_at: datetime
    status: MediaStatus  # type: ignore[valid-type]
    reject_reason: str | None
    _row: strawberry.Private[models.Media]

    @classmethod
    def from_row(cls, row: models.Media) -> Media:
        return cls(
            id=strawberry.ID(str(row.id)),
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
            status=row.status,
            reject_reason=row.reject_reason,
            _row=row,
        )

    @strawberry.field(description="Gateway download link, CDN-cacheable; null unless READY. "
                                  "expiresIn: seconds, default 3600, at most 7 days (snapped up to the hour).")
    def url(self, info: Info[Context, None], expires_in: int | None = None) -> str | None:
        if self._row.status != models.MediaStatus.READY:
            return None
        settings = info.context.settings
        return sign_media_url(settings.signing_keys(), settings.effective_public_gateway_url, self._row.key,
                              link_lifetime(expires_in))

    @strawberry.field(description="Presigned GET straight from the bucket; null unless READY, and null on the "
                                  "local backend. expiresIn: seconds, default 3600, at most 7 days.")
    async def direct_url(self, info: Info[Context, None], expires_in: int | None = None) -> str | None:
        storage = info.context.storage
        if self._row.status != models.MediaStatus.READY or storage is None:
            return None
        row = self._row
        disposition = content_disposition(row.filename, attachment=row.content_type not in INLINE_SAFE_TYPES)
        return await storage.presign_get(row.key, link_lifetime(expires_in), row.content_type, disposition)


async def _media_by_id(ids: Sequence[uuid.UUID]) -> list[models.Media | None]:
    rows = {row.id: row for row in await models.Media.filter(id__in=list(ids))}
    return [rows.get(i) for i in ids]


async def load_media(ctx: Context, media_id: uuid.UUID | None) -> Media | None:
    if media_id is None:
        return None
    row = await ctx.loader("media_by_id", _media_by_id).load(media_id)
    return Media.from_row(row) if row is not None else None


# --- the upload lifecycle -------------------------------------------------------------------------------


@strawberry.type
class HttpHeader:
    name: str
    value: str


@strawberry.type(description="Where to PUT the file: send every header, unchanged, before expiresAt.")
class UploadTarget:
    url: str
    method: str
    headers: list[HttpHeader]
    expires_at: datetime

    @classmethod
    def from_target(cls, target: StoredUploadTarget) -> UploadTarget:
        return cls(url=target.url, method=target.method, expires_at=target.expires_at,
                   headers=[HttpHeader(name=k, value=v) for k, v in target.headers.items()])


@strawberry.input
class RequestUploadInput:
    purpose: UploadPurpose  # type: ignore[valid-type]
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task (COMPLETION_PHOTO) or residence (DOCUMENT_FILE); none for AVATAR.")
    filename: str
    content_type: str
    size: int
    md5: str | None = strawberry.field(default=None, description="MD5 of the file, base64 or hex; when given "
                                                                 "the upload must carry it as Content-MD5.")


@strawberry.input
class FinalizeUploadInput:
    media_id: strawberry.ID


@strawberry.input
class DeleteMediaInput:
    media_id: strawberry.ID
    detach: bool = strawberry.field(default=False, description="Also remove it from where it is attached.")


@strawberry.type
class UploadResult:
    media: Media | None = None
    upload: UploadTarget | None = None


@strawberry.type
class MediaResult:
    media: Media | None = None


@strawberry.type
class MediaQuery:
    @strawberry.field(description="A file the caller may read (theirs, their residences', co-members' avatars).")
    async def media(self, info: Info[Context, None], id: strawberry.ID) -> Media:
        return Media.from_row(await media_rules.media_for_reader(info.context.require_user(), id))


@strawberry.type
class MediaMutation:
    @mutation()
    async def request_upload(self, info: Info[Context, None], input: RequestUploadInput) -> UploadResult:
        ctx = info.context
        spec = media_rules.UploadSpec(
            purpose=models.MediaPurpose(input.purpose), target_id=input.target_id, filename=input.filename,
            content_type=input.content_type, size=input.size, md5=input.md5,
        )
        result = await media_rules.request_upload(ctx.require_user(), ctx.settings, ctx.storage, ctx.rate_limiter,
                                                  spec)
        return UploadResult(media=Media.from_row(result.media), upload=UploadTarget.from_target(result.target))

    @mutation()
    async def finalize_upload(self, info: Info[Context, None], input: FinalizeUploadInput) -> MediaResult:
        ctx = info.context
        row = await media_rules.finalize_upload(ctx.require_user(), ctx.settings, ctx.storage, input.media_id)
        return MediaResult(media=Media.from_row(row))

    @mutation()
    async def delete_media(self, info: Info[Context, None], input: DeleteMediaInput) -> OkResult:
        ctx = info.context
        await media_rules.delete_media(ctx.require_user(), ctx.storage, input.media_id, input.detach)
        return OkResult(ok=True)
