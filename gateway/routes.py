"""``GET``/``HEAD``/``OPTIONS /media/{key}`` and the local backend's ``PUT /media/upload/{key}``.

Everything the response headers need (size, validators, type, filename) comes
from the READY media row, so preconditions, ranges and HEAD are answered
without asking the store; a GET then makes exactly one upstream request.
The routes reach the process's services with ``services_of(request)`` and the gateway's caches with
``gateway_state(request)``, so the same list can be mounted by the gateway app and by ``honeydue serve``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.auth import bearer_may_read, check_signed_link, user_for_bearer
from gateway.conditional import evaluate_preconditions, format_etag, http_date, if_range_allows
from gateway.cors import cors_headers, preflight
from gateway.file_send import file_response
from gateway.ranges import RangeOutcome, parse_range_header
from gateway.responses import ErrorResponse, HeadersOnly
from gateway.state import gateway_state
from gateway.streaming import UpstreamFailure, UpstreamResponse, multipart_layout, open_upstream
from honeydue.auth import bearer_from_header
from honeydue.media_policy import (
    ATTACHMENT_TYPES,
    INLINE_SAFE_TYPES,
    content_disposition,
    final_key,
    is_staging_key,
    max_size_for,
)
from honeydue.models import Media, MediaStatus
from honeydue.services import services_of
from honeydue.signing import verify_upload
from honeydue.storage.base import DigestMismatch, StorageError, UploadLengthMismatch

log = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD")
UPLOAD_METHODS = ("PUT",)


BAD_REQUEST = "BAD_REQUEST"
TOO_LARGE = "REQUEST_TOO_LARGE"


def media_routes() -> list[Route]:
    """The gateway's media routes; mount them at the root of an app whose state has settings and storage."""
    return [
        Route("/media/upload/{key:path}", upload_media, methods=["PUT", "OPTIONS"]),
        Route("/media/{key:path}", read_media, methods=["GET", "HEAD", "OPTIONS"]),
    ]


def presentation(media: Media, download: bool) -> tuple[str, str]:
    """(Content-Type, Content-Disposition) safe to send for this row.

    A type the browser could execute or render as a page (HTML, SVG, anything
    not on the inline-safe list) is sent as an opaque download; a zip (a data export) as a download of
    its own type.
    """
    media_type = media.content_type.split(";", 1)[0].strip().lower()
    if media_type in INLINE_SAFE_TYPES:
        return media_type, content_disposition(media.filename, download)
    if media_type in ATTACHMENT_TYPES:
        return media_type, content_disposition(media.filename, True)
    return "application/octet-stream", content_disposition(media.filename, True)


def entity_tag(media: Media) -> str:
    """The row's store ETag, or a stable stand-in (keys are immutable, so key+size identify the bytes)."""
    if media.etag:
        return media.etag.strip('"')
    return hashlib.sha256(f"{media.key}\n{media.size}".encode()).hexdigest()[:32]


def last_modified(media: Media) -> datetime:
    return media.finalized_at or media.updated_at or media.created_at


async def read_media(request: Request) -> ASGIApp:
    """``GET``/``HEAD``/``OPTIONS /media/{key}``.

    A failure of our own (the database, a bug) still answers with CORS and nosniff: left to Starlette it
    would be a bare 500 that a cross-origin page sees only as an opaque network error.
    """
    try:
        return await _read_media(request)
    except Exception:
        log.exception("reading media %s failed", request.path_params.get("key"))
        return ErrorResponse(500, "internal error", cors_headers(request))


async def _read_media(request: Request) -> ASGIApp:
    cors = cors_headers(request)
    if request.method == "OPTIONS":
        return preflight(request, READ_METHODS)
    key: str = request.path_params["key"]
    now = time.time()
    query = request.query_params
    services, gateway = services_of(request), gateway_state(request)

    user = None
    if "sig" in query or "exp" in query:
        grant = check_signed_link(services.signing_keys, key, query, now)
        if grant is None:
            return ErrorResponse(403, "invalid or expired link", cors)
        cache_control = f"public, max-age={max(grant.expires_at - int(now), 0)}, immutable"
    else:
        token = bearer_from_header(request.headers.get("authorization"))
        if token is None:
            return ErrorResponse(403, "a signed link or a bearer token is required", cors)
        user = await user_for_bearer(token)
        if user is None:
            return ErrorResponse(401, "invalid or expired token", {**cors, "WWW-Authenticate": "Bearer"})
        cache_control = "private"

    media = await gateway.recent_media.get(key)
    if media is None:
        return ErrorResponse(404, "no such media", cors)
    if user is not None and not await bearer_may_read(user, media, gateway.access_cache):
        return ErrorResponse(403, "not allowed to read this media", cors)

    etag, modified = entity_tag(media), last_modified(media)
    content_type, disposition = presentation(media, query.get("download") == "1")
    # Answers about this representation (412, 416) say it is served in byte ranges, like a 200 or 206.
    served = {**cors, "Accept-Ranges": "bytes"}
    validators = {
        **served,
        "ETag": format_etag(etag),
        "Last-Modified": http_date(modified),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if user is not None:
        validators["Vary"] = _vary(cors, "Authorization")

    verdict = evaluate_preconditions(request.headers, request.method, etag, modified)
    if verdict == 304:
        return HeadersOnly(304, validators)
    if verdict is not None:
        return ErrorResponse(verdict, "precondition failed", served)

    size = media.size
    result = parse_range_header(request.headers.get("range"), size)
    if result.outcome is not RangeOutcome.FULL and not if_range_allows(
        request.headers.get("if-range"), etag, modified
    ):
        result = parse_range_header(None, size)
    if result.outcome is RangeOutcome.UNSATISFIABLE:
        return ErrorResponse(416, "range not satisfiable", {**served, "Content-Range": f"bytes */{size}"})

    headers = {**validators, "Content-Type": content_type, "Content-Disposition": disposition}
    status, upstream_range, layout, parts = 200, None, None, None
    length = size
    if result.outcome is RangeOutcome.PARTIAL and len(result.ranges) == 1:
        only = result.ranges[0]
        status, upstream_range, length = 206, (only.first, only.last), only.length
        headers["Content-Range"] = only.content_range(size)
    elif result.outcome is RangeOutcome.PARTIAL:
        parts = result.ranges
        layout = multipart_layout(parts, content_type, size)
        status, upstream_range, length = 206, (parts[0].first, parts[-1].last), layout.content_length
        headers["Content-Type"] = layout.content_type
    headers["Content-Length"] = str(length)

    if request.method == "HEAD":
        return HeadersOnly(status, headers)

    async def stream() -> ASGIApp:
        """The answer through ``storage.open``: one upstream GET (or file read), relayed in chunks."""
        try:
            upstream = await open_upstream(services.storage, key, upstream_range)
        except UpstreamFailure as failure:
            if failure.status == 404:
                gateway.recent_media.forget(key)
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            if failure.status >= 500:
                log.warning("media %s: %s", key, failure.reason)
            return ErrorResponse(failure.status, failure.reason, {**cors, **extra})
        wanted = upstream_range[1] - upstream_range[0] + 1 if upstream_range else size
        if upstream.content_length != wanted or upstream.info.size != size:
            await upstream.aclose()
            gateway.recent_media.forget(key)
            log.error("media %s: store has %d bytes, row says %d", key, upstream.info.size, size)
            return ErrorResponse(502, "stored object does not match its record", cors)
        return UpstreamResponse(status, list(headers.items()), upstream, wanted, parts, layout)

    if parts is None:  # the local backend's file: sent by the server itself when it offers to, or read at once
        direct = file_response(request.scope, services.storage, key, status, list(headers.items()),
                               upstream_range, size, stream)
        if direct is not None:
            return direct
    return await stream()


async def upload_media(request: Request) -> ASGIApp:
    """The local backend's presigned PUT: the signature binds key, type, exact length and expiry.

    As on /graphql, the body is never read past its limit (here the signed length): the declared
    Content-Length is checked before reading (a chunked body, with none, is refused with 411), and the
    store stops reading as soon as more arrives than was declared.
    """
    cors = cors_headers(request)
    if request.method == "OPTIONS":
        return preflight(request, UPLOAD_METHODS)
    services = services_of(request)
    write_stream = getattr(services.storage, "write_stream", None)
    if write_stream is None:
        return ErrorResponse(404, "uploads go straight to the bucket", cors)
    key: str = request.path_params["key"]
    query = request.query_params
    signed_type, signed_length, signed_md5 = query.get("ct"), query.get("len"), query.get("md5")
    if not verify_upload(
        services.signing_keys, key, signed_type, signed_length, query.get("exp"), query.get("sig"), time.time(),
        signed_md5,
    ):
        return ErrorResponse(403, "invalid or expired upload link", cors)
    if signed_md5 and request.headers.get("content-md5") != signed_md5:
        # S3 signs Content-MD5 into the link; another (or no) header is a signature mismatch there too.
        return ErrorResponse(403, "Content-MD5 differs from the signed digest", cors)
    assert signed_type is not None and signed_length is not None  # verify_upload checked both
    expected = int(signed_length)
    declared = request.headers.get("content-length")
    if declared is None:
        return ErrorResponse(411, "Content-Length is required", cors, code=BAD_REQUEST)
    if not (declared.isascii() and declared.isdigit()):
        return ErrorResponse(400, "Content-Length is not a number", cors, code=BAD_REQUEST)
    if int(declared) > expected or expected > max_size_for(signed_type, services.settings):
        return ErrorResponse(413, "body larger than the signed length", cors, code=TOO_LARGE)
    if int(declared) != expected:
        return ErrorResponse(400, "Content-Length differs from the signed length", cors, code=BAD_REQUEST)
    if request.headers.get("content-type", "") != signed_type:
        return ErrorResponse(400, "Content-Type differs from the signed type", cors)
    if not await _accepts_upload(key):
        return ErrorResponse(409, "this upload is finished; request a new upload", cors)
    try:
        info = await write_stream(key, request.stream(), expected, content_type=signed_type,
                                  content_md5=signed_md5 or None)
    except ClientDisconnect:
        return ErrorResponse(400, "upload interrupted", cors)
    except DigestMismatch:
        return ErrorResponse(400, "BadDigest: the Content-MD5 you specified did not match what we received", cors)
    except UploadLengthMismatch as exc:
        status = 413 if exc.received > expected else 400
        return ErrorResponse(status, "body length differs from the signed length", cors,
                             code=TOO_LARGE if status == 413 else BAD_REQUEST)
    except StorageError as exc:
        log.warning("upload of %s failed: %s", key, exc)
        return ErrorResponse(400, "upload refused", cors)
    if not await _accepts_upload(key):  # finalized while the body streamed in: drop the late bytes
        await services.storage.delete(key)
        return ErrorResponse(409, "this upload is finished; request a new upload", cors)
    return HeadersOnly(200, {**cors, "ETag": format_etag(info.etag), "Content-Length": "0",
                             "Cache-Control": "no-store"})


async def _accepts_upload(key: str) -> bool:
    """May a signed PUT still write ``key``? Only a PENDING media's staging key, or a key with no row.

    Upload links outlive finalize; finalize publishes by copying the staging object to the served key,
    so a served key (one a row holds) is never a PUT target, and a staging key only until its media
    leaves PENDING. A key without any row is not served either (operators' and tests' own links).
    """
    if not is_staging_key(key):
        return not await Media.exists(key=key)
    return not await Media.filter(key=final_key(key)).exclude(status=MediaStatus.PENDING).exists()


def _vary(cors: dict[str, str], field: str) -> str:
    existing = cors.get("Vary")
    return f"{existing}, {field}" if existing else field
