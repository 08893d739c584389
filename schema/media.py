"""The Media type (uploaded files), its download links, and the upload lifecycle's query and mutations.

Links are only made for READY media: a PENDING or REJECTED file has not passed the magic-number check
and must never be served. ``url`` points at our gateway and is CDN-cacheable (its expiry snaps to a
window); ``directUrl`` is a presigned GET straight from the bucket (none on the local backend).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.media_policy import INLINE_SAFE_TYPES, content_disposition
from honeydue.signing import sign_media_url
from honeydue.storage import UploadTarget as StoredUploadTarget
from resolvers import media as media_rules
from schema.common import IDEMPOTENCY_KEY_DESCRIPTION, FromRow
from schema.context import Context
from schema.enums import MediaStatus, MediaVariantKind, UploadPurpose
from schema.mutation import OkResult, mutation

EXPIRES_IN = "Seconds the link stays valid: default 3600, at most 604800 (7 days); less than 1 is read as 1."

DEFAULT_LINK_SECONDS = 3600
MAX_LINK_SECONDS = 7 * 24 * 3600  # a SigV4 presigned link cannot live longer; gateway links follow suit


def link_lifetime(expires_in: int | None) -> int:
    """``expiresIn`` clamped to 1 s .. 7 days (default 1 h)."""
    return max(1, min(DEFAULT_LINK_SECONDS if expires_in is None else expires_in, MAX_LINK_SECONDS))


@strawberry.type(description="A smaller WebP rendition of an image, made by a job after finalizeUpload; it carries "
                             "no metadata. Served like its file, to whoever may read that file.")
class MediaVariant:
    kind: MediaVariantKind = strawberry.field(description="Which rendition.")  # type: ignore[valid-type]
    width: int = strawberry.field(description="Width in pixels, as displayed (the original's orientation applied).")
    height: int = strawberry.field(description="Height in pixels, as displayed.")
    content_type: str = strawberry.field(description="Its MIME type: image/webp.")
    _row: strawberry.Private[models.MediaVariant]

    @classmethod
    def of(cls, row: models.MediaVariant) -> MediaVariant:
        return cls(kind=row.kind, width=row.width, height=row.height, content_type=row.content_type,
                   _row=row)

    @strawberry.field(description="Download link through the gateway, CDN-cacheable (its expiry is snapped up to "
                                  "the hour), signed like the file's own `url`.")
    def url(
        self, info: Info[Context, None],
        expires_in: Annotated[int | None, strawberry.argument(description=EXPIRES_IN)] = None,
    ) -> str:
        services = info.context.services
        return sign_media_url(services.signing_keys, services.settings.effective_public_gateway_url, self._row.key,
                              link_lifetime(expires_in))


async def _variants_by_media(ids: Sequence[uuid.UUID]) -> list[list[models.MediaVariant]]:
    found: dict[uuid.UUID, list[models.MediaVariant]] = {i: [] for i in ids}
    for row in await models.MediaVariant.filter(media_id__in=list(ids)).order_by("width"):
        found[row.media_id].append(row)
    return [found[i] for i in ids]


@strawberry.type(description="An uploaded file. Readable by its uploader, by members of the residence it belongs "
                             "to, and (avatars) by co-members.")
class Media(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    filename: str = strawberry.field(description="The name given at upload, without its path, control characters "
                                                 "or quotes; at most 200 characters.")
    content_type: str = strawberry.field(description="The MIME type declared at upload, lower-cased, e.g. "
                                                     "image/jpeg.")
    size: int = strawberry.field(description="Size in bytes: as declared while PENDING; once READY, the size of the "
                                             "bytes served, which is smaller than the upload's when location and "
                                             "device metadata were removed from a photo.")
    created_at: datetime = strawberry.field(description="When the upload was requested.")
    status: MediaStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where the file is in its lifecycle.")
    reject_reason: str | None = strawberry.field(description="Why the file is REJECTED; null otherwise.")
    width: int | None = strawberry.field(description="Width in pixels of an image (or a video's poster frame), as "
                                                     "displayed (orientation applied); null until its variants are "
                                                     "made, and for other files.")
    height: int | None = strawberry.field(description="Height in pixels, as displayed; null like `width`.")
    placeholder: str | None = strawberry.field(description="A BlurHash (https://blurha.sh) of the picture, about 30 "
                                                           "characters, to paint while the thumbnail loads; null "
                                                           "like `width`.")
    _row: strawberry.Private[models.Media]

    async def _variants(self, info: Info[Context, None]) -> list[models.MediaVariant]:
        if self._row.status != models.MediaStatus.READY:
            return []
        rows: list[models.MediaVariant] = await info.context.loader(
            "media_variants", _variants_by_media).load(self._row.id)
        return rows

    @strawberry.field(description="The smaller renditions made so far, smallest first: THUMB and PREVIEW for an "
                                  "image, THUMB for a video. Empty until the variant job has run (seconds after "
                                  "finalizeUpload), if it failed, and for other files.")
    async def variants(self, info: Info[Context, None]) -> list[MediaVariant]:
        return [MediaVariant.of(row) for row in await self._variants(info)]

    @strawberry.field(description="The THUMB variant; null until it is ready (and for files without one): show the "
                                  "original, or `placeholder`, meanwhile.")
    async def thumbnail(self, info: Info[Context, None]) -> MediaVariant | None:
        rows = [row for row in await self._variants(info) if row.kind == models.MediaVariantKind.THUMB]
        return MediaVariant.of(rows[0]) if rows else None

    @strawberry.field(description="Download link through the gateway, CDN-cacheable (its expiry is snapped up to "
                                  "the hour); null unless READY.")
    def url(
        self, info: Info[Context, None],
        expires_in: Annotated[int | None, strawberry.argument(description=EXPIRES_IN)] = None,
    ) -> str | None:
        if self._row.status != models.MediaStatus.READY:
            return None
        services = info.context.services
        return sign_media_url(services.signing_keys, services.settings.effective_public_gateway_url, self._row.key,
                              link_lifetime(expires_in))

    @strawberry.field(description="Presigned GET straight from the bucket; null unless READY, and null on the "
                                  "local storage backend.")
    async def direct_url(
        self, info: Info[Context, None],
        expires_in: Annotated[int | None, strawberry.argument(description=EXPIRES_IN)] = None,
    ) -> str | None:
        storage = info.context.storage
        if self._row.status != models.MediaStatus.READY:
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


@strawberry.type(description="One HTTP header to send with the upload.")
class HttpHeader:
    name: str = strawberry.field(description="Header name, e.g. Content-Type.")
    value: str = strawberry.field(description="Header value, to send unchanged.")


@strawberry.type(description="Where to PUT the file: send every header, unchanged, before expiresAt.")
class UploadTarget:
    url: str = strawberry.field(description="Where to send the file's bytes (presigned; no Authorization header).")
    method: str = strawberry.field(description="The HTTP method to use: PUT.")
    headers: list[HttpHeader] = strawberry.field(description="Headers the request must carry, exactly: the link is "
                                                             "signed over them (Content-Type, Content-Length, and "
                                                             "Content-MD5 when md5 was given).")
    expires_at: datetime = strawberry.field(description="When the link stops working: 15 minutes after the request.")

    @classmethod
    def from_target(cls, target: StoredUploadTarget) -> UploadTarget:
        return cls(url=target.url, method=target.method, expires_at=target.expires_at,
                   headers=[HttpHeader(name=k, value=v) for k, v in target.headers.items()])


@strawberry.input(description="The file to upload, as the client declares it; finalizeUpload checks the bytes "
                              "against it.")
class RequestUploadInput:
    purpose: UploadPurpose = strawberry.field(description="What the file is for.")  # type: ignore[valid-type]
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task (COMPLETION_PHOTO) or residence (DOCUMENT_FILE, RESIDENCE_PHOTO), where "
                                  "the caller is an EDITOR; none for AVATAR and RESIDENCE_IMPORT. INVALID_INPUT when "
                                  "missing or given "
                                  "wrongly.")
    filename: str = strawberry.field(description="Name to show and download under; its path, control characters "
                                                 "and quotes are dropped, and it is cut to 200 characters.")
    content_type: str = strawberry.field(description="MIME type: an image (image/jpeg, image/png, image/gif, "
                                                     "image/webp, image/heic, image/heif), application/pdf for "
                                                     "DOCUMENT_FILE, or a video "
                                                     "(video/mp4, video/quicktime, video/webm) for COMPLETION_PHOTO "
                                                     "and DOCUMENT_FILE, as far as "
                                                     "the server allows (STORAGE_ALLOWED_TYPES); application/json, "
                                                     "and only that, for RESIDENCE_IMPORT; else TYPE_NOT_ALLOWED.")
    size: int = strawberry.field(description="Exact size in bytes: at least 1 (else INVALID_INPUT), at most the "
                                             "server's limit, 10 MiB unless configured, 200 MiB for a video "
                                             "(else FILE_TOO_LARGE).")
    md5: str | None = strawberry.field(default=None, description="MD5 of the file, base64 or hex; when given "
                                                                 "the upload must carry it as Content-MD5.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="The upload to check, once its bytes are PUT.")
class FinalizeUploadInput:
    media_id: strawberry.ID = strawberry.field(description="The media from requestUpload; UPLOAD_MISSING when "
                                                           "nothing was PUT yet.")


@strawberry.input(description="The file to delete.")
class DeleteMediaInput:
    media_id: strawberry.ID = strawberry.field(description="The file to delete.")
    detach: bool = strawberry.field(default=False, description="Also remove it from where it is attached (a "
                                                               "completion, a document, an avatar, a residence "
                                                               "photo); without it an "
                                                               "attached file is MEDIA_IN_USE.")


@strawberry.type
class UploadResult:
    media: Media | None = strawberry.field(default=None, description="The new PENDING media.")
    upload: UploadTarget | None = strawberry.field(default=None, description="Where and how to PUT the bytes.")


@strawberry.type
class MediaResult:
    media: Media | None = strawberry.field(default=None, description="The media: READY, or REJECTED with its "
                                                                     "`rejectReason`.")


@strawberry.type
class MediaQuery:
    @strawberry.field(description="A file the caller may read (theirs, their residences', co-members' avatars). "
                                  "NOT_FOUND for any other.")
    async def media(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Media:
        return Media.from_row(await media_rules.media_for_reader(info.context.require_user(), id))


@strawberry.type
class MediaMutation:
    @mutation("Starts an upload: records a PENDING media and returns a presigned PUT, valid 15 minutes, that "
              "binds the declared type and size. NOT_FOUND or FORBIDDEN for a target the caller may not upload "
              "to.")
    async def request_upload(self, info: Info[Context, None], input: RequestUploadInput) -> UploadResult:
        ctx = info.context
        spec = media_rules.UploadSpec(
            purpose=models.MediaPurpose(input.purpose), target_id=input.target_id, filename=input.filename,
            content_type=input.content_type, size=input.size, md5=input.md5,
            idempotency_key=input.idempotency_key,
        )
        result = await media_rules.request_upload(ctx.require_user(), ctx.settings, ctx.storage, ctx.rate_limiter,
                                                  spec)
        return UploadResult(media=Media.from_row(result.media), upload=UploadTarget.from_target(result.target))

    @mutation("Checks the uploaded bytes (size, type, content) and makes the media READY or REJECTED; an avatar "
              "becomes the caller's avatar. A media already finished is returned as it is. Uploader only: "
              "FORBIDDEN for other readers, NOT_FOUND for anyone else.")
    async def finalize_upload(self, info: Info[Context, None], input: FinalizeUploadInput) -> MediaResult:
        ctx = info.context
        row = await media_rules.finalize_upload(ctx.require_user(), ctx.settings, ctx.storage, input.media_id)
        return MediaResult(media=Media.from_row(row))

    @mutation("Deletes a file, its stored bytes first. The uploader, or an EDITOR of its residence: FORBIDDEN for "
              "other readers, NOT_FOUND for anyone else.")
    async def delete_media(self, info: Info[Context, None], input: DeleteMediaInput) -> OkResult:
        ctx = info.context
        await media_rules.delete_media(ctx.require_user(), ctx.storage, input.media_id, input.detach)
        return OkResult(ok=True)
