"""S3 / Backblaze B2 backend on aioboto3.

One client per process, opened by ``start()`` in the app lifespan: every
client owns a connection pool, so a client per request would pay a TLS
handshake each time and leak pools. The botocore config follows DESIGN.md's
"B2 facts": path-style addressing (mixed-case bucket names), and flexible
checksums only when an operation requires them (B2 refuses the CRC headers
botocore >= 1.36 sends by default).

``open`` (the gateway's hot path) bypasses botocore: it GETs a cached presigned
URL over one shared aiohttp session (``presigned_reader``), mapping errors
through the same ``map_error`` as every botocore call here.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aioboto3
import aiohttp
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from honeydue.settings import Settings
from honeydue.storage.base import (
    AccessDenied,
    BucketNotFound,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    StorageError,
    StorageTimeout,
    StorageUnavailable,
    UploadTarget,
)
from honeydue.storage.presigned_reader import PresignedReader, PresignedUrlCache

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 links cannot live longer
# Parts of a streaming write: S3 and B2 need at least 5 MiB for every part but the last, and allow 10,000
# parts (80 GB at this size). One part is held in memory while it uploads.
WRITER_PART_SIZE = 8 * 1024 * 1024
BACKUP_POOL_CONNECTIONS = 8
# User metadata on a backup copy: the primary's ETag, which a multipart copy's own ETag cannot match.
SOURCE_ETAG_META = "source-etag"
NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
# What a call to the store may raise; anything else is a bug and propagates as is.
STORE_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError, OSError)
# botocore's connect/read timeouts are not ``TimeoutError``s; aiohttp's are.
TIMEOUT_ERRORS = (TimeoutError, ConnectTimeoutError, ReadTimeoutError)
DENIED_CODES = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


def client_config(max_pool_connections: int = 64) -> Config:
    """The botocore config every client of the store must use (see module docstring)."""
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max_pool_connections,
        # One quick retry: the gateway maps a dead store to 502/504 and the client retries.
        retries={"total_max_attempts": 2, "mode": "standard"},
    )


def endpoint_url(endpoint: str, use_ssl: bool) -> str:
    """``B2_ENDPOINT`` may omit the scheme; ``B2_USE_SSL`` decides it then."""
    if urlsplit(endpoint).scheme in ("http", "https"):
        return endpoint.rstrip("/")
    return f"{'https' if use_ssl else 'http'}://{endpoint.strip('/')}"


def _error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code", "")), int(status or 0)


def map_error(exc: Exception, key: str, bucket: str = "") -> StorageError:
    """Translate a botocore/aiohttp failure into the interface's typed errors.

    ``NoSuchBucket`` is told apart from a missing object: a wrong (or mis-cased) ``B2_BUCKET_NAME`` is an
    operator's mistake to be named, not a 404 about whatever key was asked for.
    """
    if isinstance(exc, ClientError):
        code, status = _error_code(exc)
        if code == "NoSuchBucket":
            return BucketNotFound(bucket or str(exc.response.get("Error", {}).get("BucketName", "")))
        if code in NOT_FOUND_CODES or status == 404:
            return ObjectNotFound(key)
        if code in DENIED_CODES or status == 403:
            return AccessDenied(key)
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return StorageUnavailable(f"{code or status} for {key}")
        return StorageError(f"{code or status} for {key}: {exc}")
    if isinstance(exc, TIMEOUT_ERRORS):
        return StorageTimeout(f"{type(exc).__name__} for {key}: {exc}")
    return StorageUnavailable(f"{type(exc).__name__} for {key}: {exc}")


def map_status(status: int, body: bytes, key: str, bucket: str = "") -> StorageError:
    """An error answer to a plain GET, mapped exactly as botocore's ``ClientError`` for it would be."""
    code, message = "", ""
    try:
        root = ET.fromstring(body) if body else None
    except ET.ParseError:
        root = None
    if root is not None:
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    exc = ClientError(
        {"Error": {"Code": code or str(status), "Message": message},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )
    return _open_error(exc, key, bucket)


def _open_error(exc: Exception, key: str, bucket: str = "") -> StorageError:
    """What ``open`` raises for a failed GET: 416 is the caller's range, otherwise ``map_error``."""
    if isinstance(exc, ClientError) and _error_code(exc)[0] == "InvalidRange":
        return StorageError(f"range not satisfiable for {key}")
    return map_error(exc, key, bucket)


def _etag(raw: str | None) -> str:
    return (raw or "").strip('"')


class S3Storage:
    """The bucket behind the ``Storage`` interface; ``start()`` before use, ``close()`` at shutdown."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        use_ssl: bool = True,
        max_pool_connections: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url(endpoint, use_ssl)
        self._region = region
        self._access_key = access_key
        self._secret_key = secret_key
        self._use_ssl = use_ssl
        self._config = client_config(max_pool_connections)
        self._clock = clock
        self._reader = PresignedReader(
            PresignedUrlCache(self._presign_read, clock=clock),
            functools.partial(map_status, bucket=bucket),
            functools.partial(_open_error, bucket=bucket),
            max_connections=max_pool_connections,
            connect_timeout=self._config.connect_timeout,
            read_timeout=self._config.read_timeout,
        )
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """The media bucket (``B2_*``)."""
        return cls._configured(settings, "b2")

    @classmethod
    def backup_from_settings(cls, settings: Settings) -> S3Storage:
        """The backup bucket (``BACKUP_*``): the same client construction as the primary, another store."""
        return cls._configured(settings, "backup", max_pool_connections=BACKUP_POOL_CONNECTIONS)

    @classmethod
    def _configured(cls, settings: Settings, prefix: str, **options: Any) -> S3Storage:
        # Both buckets are configured by the same six settings under their own prefix (B2_ENDPOINT, BACKUP_ENDPOINT).
        endpoint, bucket, region, key_id, app_key, use_ssl = (
            getattr(settings, f"{prefix}_{name}")
            for name in ("endpoint", "bucket_name", "region", "key_id", "app_key", "use_ssl"))
        assert endpoint and bucket
        return cls(endpoint=endpoint, bucket=bucket, region=region, access_key=key_id, secret_key=app_key,
                   use_ssl=use_ssl, **options)

    # Lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Open the process's single client (idempotent)."""
        async with self._lock:
            if self._client is not None:
                return
            stack = AsyncExitStack()
            session = aioboto3.Session()
            self._client = await stack.enter_async_context(
                session.client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self._region,
                    aws_access_key_id=self._access_key,
                    aws_secret_access_key=self._secret_key,
                    use_ssl=self._use_ssl,
                    config=self._config,
                )
            )
            stack.push_async_callback(self._reader.close)
            await self._reader.start()
            self._stack = stack

    async def close(self) -> None:
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    async def __aenter__(self) -> S3Storage:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3Storage.start() was not awaited (the app lifespan opens the client)")
        return self._client

    # Reads ----------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo:
        try:
            resp = await self.client.head_object(Bucket=self.bucket, Key=key)
        except STORE_ERRORS as exc:
            raise map_error(exc, key, self.bucket) from exc
        return ObjectInfo(
            key=key,
            size=int(resp["ContentLength"]),
            etag=_etag(resp.get("ETag")),
            last_modified=resp["LastModified"],
            content_type=resp.get("ContentType"),
        )

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectStream:
        """Exactly one GET; the Range goes upstream so the store sends only those bytes.

        The GET goes to a cached presigned URL over plain aiohttp (see
        ``presigned_reader``): the same authorisation as a ``GetObject`` without
        botocore's per-call cost, which dominated the gateway's latency.
        """
        return await self._reader.open(key, byte_range)

    async def _presign_read(self, key: str, expires_in: int) -> str:
        return await self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )

    async def read_prefix(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes (fewer if the object is shorter): for magic-number sniffing."""
        if length <= 0:
            await self.head(key)
            return b""
        try:
            resp = await self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
        except ClientError as exc:
            if _error_code(exc)[0] == "InvalidRange":  # an empty object has no byte 0
                return b""
            raise map_error(exc, key, self.bucket) from exc
        except STORE_ERRORS as exc:
            raise map_error(exc, key, self.bucket) from exc
        body = resp["Body"]
        try:
            return (await body.read())[:length]
        except STORE_ERRORS as exc:
            raise map_error(exc, key, self.bucket) from exc
        finally:
            body.close()

    async def source_etag(self, key: str) -> str | None:
        """The primary's ETag a backup copy was made from (``open_copy_writer``); None if not recorded."""
        try:
            resp = await self.client.head_object(Bucket=self.bucket, Key=key)
        except STORE_ERRORS as exc:
            raise map_error(exc, key, self.bucket) from exc
        return resp.get("Metadata", {}).get(SOURCE_ETAG_META)

    async def list(self, prefix: str, page_size: int | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects under ``prefix`` in key order, one listing page (``page_size`` keys, default 1000) at a time."""
        paginator = self.client.get_paginator("list_objects_v2")
        paging = {"PageSize": page_size} if page_size else {}
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, PaginationConfig=paging):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        size=int(item["Size"]),
                        etag=_etag(item.get("ETag")),
                        last_modified=item["LastModified"],
                    )
        except STORE_ERRORS as exc:
            raise map_error(exc, prefix, self.bucket) from exc

    # Writes ---------------------------------------------------------------------

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except STORE_ERRORS as exc:
            raise map_error(exc, key, self.bucket) from exc

    def open_writer(self, key: str, content_type: str, metadata: dict[str, str] | None = None) -> S3ObjectWriter:
        """See ``Storage.open_writer``; ``metadata`` becomes the object's user metadata (``x-amz-meta-*``)."""
        return S3ObjectWriter(self, key, content_type, metadata=metadata)

    def open_copy_writer(self, key: str, content_type: str, source_etag: str) -> S3ObjectWriter:
        """A writer for a copy of another bucket's object, recording its ETag for ``source_etag``."""
        return self.open_writer(key, content_type, metadata={SOURCE_ETAG_META: source_etag})

    async def copy(self, src_key: str, dst_key: str) -> None:
        """CopyObject inside the bucket (metadata and content type copied with the bytes).

        The client is the one built by ``client_config``, so no flexible-checksum headers go out;
        ``CopySource`` as a dict lets botocore quote the key and keep the mixed-case bucket name.
        """
        try:
            await self.client.copy_object(
                Bucket=self.bucket,
                Key=dst_key,
                CopySource={"Bucket": self.bucket, "Key": src_key},
                MetadataDirective="COPY",
            )
        except STORE_ERRORS as exc:
            raise map_error(exc, src_key, self.bucket) from exc

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete_object(Bucket=self.bucket, Key=key)
        except STORE_ERRORS as exc:  # S3 answers 204 for a missing key, so any error is real
            raise map_error(exc, key, self.bucket) from exc

    # Links ----------------------------------------------------------------------

    async def presign_put(
        self, key: str, content_type: str, content_length: int, content_md5: str | None, expires_in: int
    ) -> UploadTarget:
        """A PUT link whose signature covers Content-Type and Content-Length (and Content-MD5).

        The store recomputes the signature over the headers it receives, so a PUT
        with another type, size or digest is refused: the declared values hold.
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": content_length,
        }
        headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
        if content_md5:
            params["ContentMD5"] = content_md5
            headers["Content-MD5"] = content_md5
        expires_in = _clamp_expiry(expires_in)
        issued = math.floor(self._clock())
        url = await self.client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
        )
        return UploadTarget(
            url=url,
            method="PUT",
            headers=headers,
            expires_at=datetime.fromtimestamp(issued + expires_in, UTC),
        )

    async def presign_get(
        self, key: str, expires_in: int, content_type: str, content_disposition: str
    ) -> str | None:
        """A GET link straight to the bucket; the store answers with our type and disposition."""
        return await self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition,
            },
            ExpiresIn=_clamp_expiry(expires_in),
        )


class S3ObjectWriter:
    """A streaming write: one PutObject when everything fits in one part, else a multipart upload.

    Bytes are buffered up to ``part_size`` and each full part is uploaded before more is taken, so the
    memory held is one part whatever the object's size. Nothing is visible under the key before ``commit``
    (CompleteMultipartUpload publishes the parts at once); ``abort`` cancels the upload so the store keeps
    no orphan parts.
    """

    def __init__(self, storage: S3Storage, key: str, content_type: str,
                 part_size: int = WRITER_PART_SIZE, metadata: dict[str, str] | None = None) -> None:
        self._storage = storage
        self._key = key
        self._content_type = content_type
        self._metadata = dict(metadata or {})
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= self._part_size:
            part = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            await self._upload_part(part)

    async def commit(self) -> ObjectInfo:
        storage, key = self._storage, self._key
        try:
            if self._upload_id is None:
                body, self._buffer = bytes(self._buffer), bytearray()
                await storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body,
                                                ContentType=self._content_type, Metadata=self._metadata)
            else:
                if self._buffer:
                    last, self._buffer = bytes(self._buffer), bytearray()
                    await self._upload_part(last)
                await storage.client.complete_multipart_upload(
                    Bucket=storage.bucket, Key=key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
                self._upload_id = None
        except STORE_ERRORS as exc:
            raise map_error(exc, key, storage.bucket) from exc
        return await storage.head(key)

    async def abort(self) -> None:
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        storage = self._storage
        try:
            await storage.client.abort_multipart_upload(Bucket=storage.bucket, Key=self._key, UploadId=upload_id)
        except STORE_ERRORS as exc:
            raise map_error(exc, self._key, storage.bucket) from exc

    async def _upload_part(self, body: bytes) -> None:
        storage = self._storage
        try:
            if self._upload_id is None:
                created = await storage.client.create_multipart_upload(
                    Bucket=storage.bucket, Key=self._key, ContentType=self._content_type, Metadata=self._metadata)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            answer = await storage.client.upload_part(
                Bucket=storage.bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body)
        except STORE_ERRORS as exc:
            raise map_error(exc, self._key, storage.bucket) from exc
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})


def _clamp_expiry(expires_in: int) -> int:
    """SigV4 links live between 1 second and 7 days; longer requests get 7 days."""
    return max(1, min(int(expires_in), MAX_PRESIGN_SECONDS))
