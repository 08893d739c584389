"""The local backend's bytes handed to the HTTP server as a file, when the server offers it.

Two ASGI extensions let the server send a file itself, without each chunk passing through Python:

* ``http.response.zerocopysend``: an open file, an offset and a count (``os.sendfile``): any single range;
* ``http.response.pathsend``: a path, sent whole: the full object only (granian offers this one).

A server advertises them in ``scope["extensions"]``; uvicorn offers neither. Without zerocopysend, a single
range of at most ``SMALL_RANGE_BYTES`` is read in one go (one thread hop, one send). :func:`file_response`
returns None whenever the request cannot go any of these ways (another backend, no extension, several
ranges, a file whose size is not the row's), and the route then streams through ``storage.open`` as
always, which keeps every error answer (404, 502 on a size mismatch) in one place.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from honeydue.metrics import record_bytes_streamed
from honeydue.storage.base import Storage, StorageError

PATHSEND = "http.response.pathsend"
# The largest range read whole into memory (SmallRange); longer ones are streamed in CHUNK_SIZE reads.
SMALL_RANGE_BYTES = 1024 * 1024
ZEROCOPYSEND = "http.response.zerocopysend"


def file_response(
    scope: Scope,
    storage: Storage,
    key: str,
    status: int,
    headers: list[tuple[str, str]],
    byte_range: tuple[int, int] | None,
    size: int,
    fallback: Callable[[], Awaitable[ASGIApp]],
) -> ZeroCopyFile | WholeFile | SmallRange | None:
    """A response that lets the server send the file, or None to stream it as usual."""
    extensions = scope.get("extensions") or {}
    path_for = getattr(storage, "path_for", None)
    if path_for is None:
        return None
    if byte_range is not None and ZEROCOPYSEND not in extensions:
        # pathsend sends whole files only. A range up to SMALL_RANGE_BYTES (a PDF viewer's, a video
        # player's) is one read in one thread hop and one send, instead of a hop and a send per chunk.
        if byte_range[1] - byte_range[0] + 1 > SMALL_RANGE_BYTES:
            return None
        try:
            return SmallRange(status, headers, path_for(key), byte_range, size, fallback)
        except StorageError:
            return None
    if ZEROCOPYSEND not in extensions and PATHSEND not in extensions:
        return None
    try:
        path: Path = path_for(key)
        # A stat, not a read: microseconds on a local disk, cheaper than a hop to a thread.
        if os.stat(path).st_size != size:
            return None  # the streaming path answers this mismatch (502) and logs it
    except (OSError, StorageError):
        return None  # missing or an invalid key: the streaming path answers 404
    if ZEROCOPYSEND in extensions:
        first, last = byte_range if byte_range is not None else (0, size - 1)
        return ZeroCopyFile(status, headers, path, first, last - first + 1)
    return WholeFile(status, headers, path, size)


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class WholeFile:
    """``http.response.pathsend``: the server opens and sends the file."""

    def __init__(self, status: int, headers: list[tuple[str, str]], path: Path, size: int) -> None:
        self.status, self.raw_headers, self.path, self.size = status, _raw(headers), path, size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        await send({"type": PATHSEND, "path": str(self.path)})
        record_bytes_streamed(self.size)


class ZeroCopyFile:
    """``http.response.zerocopysend``: the server sends ``count`` bytes from ``offset`` of an open file."""

    def __init__(self, status: int, headers: list[tuple[str, str]], path: Path, offset: int, count: int) -> None:
        self.status, self.raw_headers, self.path = status, _raw(headers), path
        self.offset, self.count = offset, count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with open(self.path, "rb") as handle:  # noqa: ASYNC230 - an open is a few microseconds; no read happens here
            await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
            await send({"type": ZEROCOPYSEND, "file": handle, "offset": self.offset, "count": self.count,
                        "more_body": False})
        record_bytes_streamed(self.count)


class SmallRange:
    """A single range of at most ``SMALL_RANGE_BYTES``: open, check, read and close in one thread hop.

    The file must still have the row's size; otherwise (or when it is gone) the streaming path answers,
    as a read through ``storage.open`` would have (404, or 502 for a size mismatch).
    """

    def __init__(self, status: int, headers: list[tuple[str, str]], path: Path, byte_range: tuple[int, int],
                 size: int, fallback: Callable[[], Awaitable[ASGIApp]]) -> None:
        self.status, self.raw_headers, self.path, self.size = status, _raw(headers), path, size
        self.first, self.count = byte_range[0], byte_range[1] - byte_range[0] + 1
        self.fallback = fallback  # the route's streaming answer, made only when the file is not as expected

    def _read(self) -> bytes | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_size != self.size:
                return None
            data = os.pread(fd, self.count, self.first)
        finally:
            os.close(fd)
        return data if len(data) == self.count else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        data = await asyncio.to_thread(self._read)
        if data is None:
            await (await self.fallback())(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
        record_bytes_streamed(self.count)
