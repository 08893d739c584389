"""The storage interface every backend implements, and its typed errors.

Callers (the API's upload lifecycle, the gateway, the workers) only see this
module: they never import aioboto3 or touch the media directory themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class StorageError(Exception):
    """Base of every storage failure callers may map to a response."""


class ObjectNotFound(StorageError):
    pass


class BucketNotFound(StorageError):
    """The configured bucket does not exist (bucket names are case-sensitive): a configuration fault."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket not found: {bucket}")
        self.bucket = bucket


class AccessDenied(StorageError):
    pass


class StorageUnavailable(StorageError):
    """The store did not answer (connection refused, timeout, 5xx): try again later."""


class DigestMismatch(StorageError):
    """An upload's body does not have the MD5 it was signed with (S3's BadDigest); nothing was stored."""

    def __init__(self) -> None:
        super().__init__("the Content-MD5 you specified did not match what we received")


class StorageTimeout(StorageUnavailable):
    """The store did not answer in time (connect or read timeout): the gateway answers 504."""


class UploadLengthMismatch(StorageError):
    """An uploaded body was shorter or longer than the signed length; nothing was stored."""

    def __init__(self, expected: int, received: int, *, truncated: bool) -> None:
        at_least = "at least " if truncated else ""
        super().__init__(f"expected {expected} bytes, received {at_least}{received}")
        self.expected = expected
        # Bytes read; with ``truncated``, reading stopped there and the body was at least that long.
        self.received = received


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # without quotes
    last_modified: datetime
    content_type: str | None = None


@dataclass(frozen=True)
class UploadTarget:
    """Where and how the client PUTs the bytes: send every header, unchanged."""

    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass
class ObjectStream:
    """An open GET: metadata, then body chunks; always ``aclose()`` it (in a finally)."""

    info: ObjectInfo
    status: int  # 200 or 206
    content_length: int
    content_range: str | None
    chunks: AsyncIterator[bytes]
    _closers: list = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self._closers:
            await closer()
        self._closers.clear()


class ObjectWriter(Protocol):
    """An object written piece by piece by the server (data exports): memory stays bounded by one part.

    Nothing is visible under the key until ``commit``; ``abort`` drops what was written. Call exactly one.
    """

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> ObjectInfo:
        """Publish the bytes written under the key (replacing any object there) and return its metadata."""
        ...

    async def abort(self) -> None:
        """Drop what was written; the key is left as it was. Idempotent."""
        ...


class Storage(Protocol):
    async def start(self) -> None:
        """Open the long-lived client (once per process, in the app lifespan)."""
        ...

    async def head(self, key: str) -> ObjectInfo: ...

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectStream:
        """One GET; ``byte_range`` is inclusive (first, last), already validated by the caller."""
        ...

    async def read_prefix(self, key: str, length: int) -> bytes: ...

    async def copy(self, src_key: str, dst_key: str) -> None:
        """Server-side copy with the source's content type; ``dst_key`` is replaced atomically.

        Finalize uses it to move checked upload bytes from the staging key the client could
        write to the final key only the server writes. A missing source raises ``ObjectNotFound``.
        """
        ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing key is not an error."""
        ...

    def list(self, prefix: str, page_size: int | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects under ``prefix`` in key order (S3's: UTF-8 bytes); ``page_size`` keys per listing request."""
        ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Server-side writes (probes, tests, operators); clients upload via ``presign_put``."""
        ...

    def open_writer(self, key: str, content_type: str) -> ObjectWriter:
        """A streaming server-side write of ``key`` of unknown length (multipart on the bucket)."""
        ...

    async def presign_put(
        self, key: str, content_type: str, content_length: int, content_md5: str | None, expires_in: int
    ) -> UploadTarget: ...

    async def presign_get(
        self, key: str, expires_in: int, content_type: str, content_disposition: str
    ) -> str | None:
        """A direct link to the bucket; None where the backend has none (local directory)."""
        ...

    async def close(self) -> None: ...
