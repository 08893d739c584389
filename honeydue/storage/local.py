"""Local directory backend: the embedded default when no bucket is configured.

It behaves like the bucket as far as callers can tell: the same operations,
ETags that are the MD5 of the content (as S3 gives for single-part uploads),
and uploads that go to a signed URL (here the gateway's ``PUT /media/upload/``,
which streams the body into ``write_stream``). Two properties matter most:

* keys can never name a file outside the media directory (the key grammar is
  checked, then the resolved path is checked again, which also catches
  symlinks);
* every write is atomic (a temporary file in the same directory, then
  ``os.replace``), so a reader never sees half an object.

Each object ``a/b.png`` has a sidecar ``a/b.png.meta.json`` with its ETag and
content type, hidden from ``list``; keys may not end in that suffix nor have a
segment starting with a dot (which is where temporary files live).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode

from honeydue.signing import sign_upload
from honeydue.storage.base import (
    DigestMismatch,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    StorageError,
    UploadLengthMismatch,
    UploadTarget,
)

# Each read is one hop to a worker thread (tens of microseconds): 256 KiB makes a 1 MB range four hops, not 16.
CHUNK_SIZE = 256 * 1024
META_SUFFIX = ".meta.json"
MAX_KEY_LENGTH = 512  # Media.key's column width


class InvalidKey(StorageError, ValueError):
    """The key could name a file outside the media directory (or a sidecar/temporary file)."""



def check_key(key: str) -> str:
    """Validate a key's grammar: relative, '/'-separated, no '.', '..', empty or hidden segments."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("key must be a non-empty string of at most 512 characters")
    if "\x00" in key or "\\" in key or key.startswith("/") or any(ord(c) < 32 for c in key):
        raise InvalidKey(f"key {key!r} contains a forbidden character or is absolute")
    if key.endswith(META_SUFFIX):
        raise InvalidKey(f"key {key!r} uses the reserved suffix {META_SUFFIX}")
    for segment in key.split("/"):
        if not segment or segment in (".", "..") or segment.startswith("."):
            raise InvalidKey(f"key {key!r} has an empty, relative or hidden segment")
    return key


class LocalStorage:
    """Objects as files under ``root``; uploads through gateway URLs signed with ``signing_keys``."""

    def __init__(
        self,
        root: Path,
        public_base_url: str,
        signing_keys: Sequence[bytes],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self.public_base_url = public_base_url.rstrip("/")
        self._signing_keys = list(signing_keys)
        self._clock = clock

    # Lifecycle (nothing to open; present so both backends are used alike) ------

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> LocalStorage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Paths ------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """The file of ``key``; raises ``InvalidKey`` for anything that could escape ``root``."""
        check_key(key)
        path = self.root / key
        real = path.resolve()
        if not real.is_relative_to(self._real_root) or real == self._real_root:
            raise InvalidKey(f"key {key!r} resolves outside the media directory")
        return path

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(path.name + META_SUFFIX)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        """Metadata from stat plus the sidecar (recomputing the ETag if the sidecar is stale)."""
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not path.is_file():
            raise ObjectNotFound(key)
        meta = _read_meta(self._meta_path(path))
        if meta.get("size") != st.st_size or meta.get("mtime_ns") != st.st_mtime_ns:
            meta = {"etag": _md5_file(path), "content_type": meta.get("content_type")}
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=str(meta["etag"]),
            # HTTP dates have one-second resolution; S3 reports whole seconds too.
            last_modified=datetime.fromtimestamp(int(st.st_mtime), UTC),
            content_type=meta.get("content_type"),
        )

    # Reads ------------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo:
        path = self.path_for(key)
        return await asyncio.to_thread(self._info, key, path)

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectStream:
        path = self.path_for(key)

        def _open() -> tuple[IO[bytes], ObjectInfo]:
            try:
                handle = path.open("rb")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(key) from None
            try:
                return handle, self._info(key, path)
            except BaseException:
                handle.close()
                raise

        handle, info = await asyncio.to_thread(_open)
        status, content_range = 200, None
        first, length = 0, info.size
        if byte_range is not None:
            first, last = byte_range
            if first < 0 or first >= info.size or last < first:
                handle.close()
                raise StorageError(f"range not satisfiable for {key}")
            last = min(last, info.size - 1)  # like S3: a range past the end stops at the end
            length = last - first + 1
            status, content_range = 206, f"bytes {first}-{last}/{info.size}"
        chunks = _file_chunks(handle, first, length)

        async def release() -> None:
            await chunks.aclose()
            handle.close()

        return ObjectStream(
            info=info,
            status=status,
            content_length=length,
            content_range=content_range,
            chunks=chunks,
            _closers=[release],
        )

    async def read_prefix(self, key: str, length: int) -> bytes:
        path = self.path_for(key)

        def _read() -> bytes:
            try:
                with path.open("rb") as handle:
                    return handle.read(max(length, 0))
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(key) from None

        return await asyncio.to_thread(_read)

    async def list(self, prefix: str, page_size: int | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order like S3's listing.

        ``page_size`` is the S3 listing's request size; a directory walk has no pages and ignores it.
        """
        directory = prefix.rpartition("/")[0]
        if directory:
            try:
                start = self.path_for(directory)
            except InvalidKey:
                return
        else:
            start = self.root
        keys = await asyncio.to_thread(_walk_keys, self.root, start, prefix)
        for key in keys:
            try:
                yield await self.head(key)
            except ObjectNotFound:  # deleted while listing
                continue

    # Writes -----------------------------------------------------------------------

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        async def one_chunk() -> AsyncIterator[bytes]:
            yield data

        await self.write_stream(key, one_chunk(), len(data), content_type=content_type)

    async def write_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        max_length: int,
        content_type: str | None = None,
        content_md5: str | None = None,
    ) -> ObjectInfo:
        """Stream an upload to a temporary file and rename it into place.

        The body must be exactly ``max_length`` bytes (the length the upload URL
        signed): reading stops as soon as it runs over, and a short or long body
        raises ``UploadLengthMismatch`` with nothing stored. With ``content_md5``
        (base64, the Content-MD5 header) a body with another digest raises
        ``DigestMismatch`` with nothing stored, as S3 answers BadDigest.
        """
        expected_digest = _md5_bytes(content_md5) if content_md5 is not None else None
        path = self.path_for(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = await asyncio.to_thread(
            tempfile.mkstemp, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        tmp = Path(tmp_name)
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    received += len(chunk)
                    if received > max_length:
                        raise UploadLengthMismatch(max_length, received, truncated=True)
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                if received != max_length:
                    raise UploadLengthMismatch(max_length, received, truncated=False)
                if expected_digest is not None and digest.digest() != expected_digest:
                    raise DigestMismatch()
                await asyncio.to_thread(_flush_and_sync, out)
            etag = digest.hexdigest()
            await asyncio.to_thread(self._commit, tmp, path, etag, content_type)
        except BaseException:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
            raise
        return await self.head(key)

    def _commit(self, tmp: Path, path: Path, etag: str, content_type: str | None) -> None:
        """Rename the object into place, then record its sidecar (stamped with size and mtime).

        A crash between the two leaves a stale sidecar, which ``_info`` detects by
        the stamp and replaces with a freshly computed ETag.
        """
        os.replace(tmp, path)
        st = path.stat()
        meta = {"etag": etag, "content_type": content_type, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        meta_path = self._meta_path(path)
        fd, meta_tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{meta_path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(meta, out)
            os.replace(meta_tmp, meta_path)
        except BaseException:
            Path(meta_tmp).unlink(missing_ok=True)
            raise

    async def copy(self, src_key: str, dst_key: str) -> None:
        """Copy through a temporary file next to the destination, then rename it into place.

        The ETag is the MD5 of the bytes actually copied (not the source's sidecar, which a
        concurrent write could have outdated), and the content type comes from the source's sidecar.
        """
        src, dst = self.path_for(src_key), self.path_for(dst_key)
        await asyncio.to_thread(self._copy_file, src_key, src, dst)

    def _copy_file(self, src_key: str, src: Path, dst: Path) -> None:
        try:
            source = src.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(src_key) from None
        with source:
            content_type = _read_meta(self._meta_path(src)).get("content_type")
            dst.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
            tmp = Path(tmp_name)
            digest = hashlib.md5(usedforsecurity=False)
            try:
                with os.fdopen(fd, "wb") as out:
                    for block in iter(lambda: source.read(1024 * 1024), b""):
                        digest.update(block)
                        out.write(block)
                    _flush_and_sync(out)
                self._commit(tmp, dst, digest.hexdigest(), content_type)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    def open_writer(self, key: str, content_type: str) -> LocalObjectWriter:
        return LocalObjectWriter(self, key, self.path_for(key), content_type)

    async def delete(self, key: str) -> None:
        path = self.path_for(key)

        def _delete() -> None:
            path.unlink(missing_ok=True)
            self._meta_path(path).unlink(missing_ok=True)
            # Drop now-empty parent directories so deleted trees do not pile up.
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

        await asyncio.to_thread(_delete)

    # Links --------------------------------------------------------------------------

    async def presign_put(
        self, key: str, content_type: str, content_length: int, content_md5: str | None, expires_in: int
    ) -> UploadTarget:
        """A gateway upload URL binding key, content type, exact length and expiry.

        A ``content_md5`` is bound too, as S3 binds it: the PUT must send it as
        Content-MD5, and the gateway stores nothing whose digest differs.
        """
        self.path_for(key)
        expires_at = int(self._clock()) + int(expires_in)
        sig = sign_upload(self._signing_keys, key, content_type, content_length, expires_at, content_md5)
        params: dict[str, str | int] = {"ct": content_type, "len": content_length, "exp": expires_at}
        headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
        if content_md5:
            params["md5"] = content_md5
            headers["Content-MD5"] = content_md5
        query = urlencode({**params, "sig": sig})
        return UploadTarget(
            url=f"{self.public_base_url}/media/upload/{quote(key, safe='/')}?{query}",
            method="PUT",
            headers=headers,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    async def presign_get(
        self, key: str, expires_in: int, content_type: str, content_disposition: str
    ) -> str | None:
        """No direct links: local objects are only reachable through the gateway."""
        return None


class LocalObjectWriter:
    """A streaming write into a temporary file beside the object, renamed into place by ``commit``.

    The temporary name starts with a dot, so ``list`` never shows a half-written object, and the rename is
    atomic, so a reader sees the old object or the whole new one.
    """

    def __init__(self, storage: LocalStorage, key: str, path: Path, content_type: str) -> None:
        self._storage = storage
        self._key = key
        self._path = path
        self._content_type = content_type
        self._digest = hashlib.md5(usedforsecurity=False)
        self._out: IO[bytes] | None = None
        self._tmp: Path | None = None

    async def write(self, data: bytes) -> None:
        out = await self._file()
        self._digest.update(data)
        await asyncio.to_thread(out.write, data)

    async def _file(self) -> IO[bytes]:
        if self._out is not None:
            return self._out
        opened, self._tmp = await asyncio.to_thread(self._open_tmp)
        self._out = opened
        return opened

    def _open_tmp(self) -> tuple[IO[bytes], Path]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        return os.fdopen(fd, "wb"), Path(name)

    async def commit(self) -> ObjectInfo:
        out = await self._file()  # nothing written yet: an empty object
        tmp = self._tmp
        assert tmp is not None
        try:
            await asyncio.to_thread(_flush_and_sync, out)
            out.close()
            await asyncio.to_thread(self._storage._commit, tmp, self._path, self._digest.hexdigest(),
                                    self._content_type)
        except BaseException:
            await self.abort()
            raise
        self._out = self._tmp = None
        return await self._storage.head(self._key)

    async def abort(self) -> None:
        out, tmp, self._out, self._tmp = self._out, self._tmp, None, None
        if out is not None:
            out.close()
        if tmp is not None:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)


def _walk_keys(root: Path, start: Path, prefix: str) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.endswith(META_SUFFIX):
                continue
            key = Path(dirpath, name).relative_to(root).as_posix()
            if key.startswith(prefix):
                found.append(key)
    return sorted(found)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _md5_bytes(content_md5: str) -> bytes:
    """The 16 digest bytes of a Content-MD5 value; a malformed one can match no body."""
    try:
        return base64.b64decode(content_md5, validate=True)
    except (ValueError, binascii.Error):
        return b""


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _flush_and_sync(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())


async def _file_chunks(handle: IO[bytes], first: int, length: int) -> AsyncGenerator[bytes, None]:
    def _read(size: int) -> bytes:
        return handle.read(size)

    await asyncio.to_thread(handle.seek, first)
    remaining = length
    while remaining > 0:
        chunk = await asyncio.to_thread(_read, min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk
