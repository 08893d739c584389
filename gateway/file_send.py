"""The local backend's bytes handed to the HTTP server as a file, when the server offers it.

Two ASGI extensions let the server send a file itself, without each chunk passing through Python:

* ``http.response.zerocopysend``: an open file, an offset and a count (``os.sendfile``): any single range;
* ``http.response.pathsend``: a path, sent whole: the full object only (granian offers this one).

A server advertises them in ``scope["extensions"]``; uvicorn offers neither. :func:`file_response` returns
None whenever the request cannot go this way (another backend, no extension, several ranges, a file whose
size is not the row's), and the route then streams through ``storage.open`` as always, which keeps every
error answer (404, 502 on a size mismatch) in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.types import Receive, Scope, Send

from honeydue.metrics import record_bytes_streamed
from honeydue.storage.base import Storage, StorageError

PATHSEND = "http.response.pathsend"
ZEROCOPYSEND = "http.response.zerocopysend"


def file_response(
    scope: Scope,
    storage: Storage,
    key: str,
    status: int,
    headers: list[tuple[str, str]],
    byte_range: tuple[int, int] | None,
    size: int,
) -> ZeroCopyFile | WholeFile | None:
    """A response that lets the server send the file, or None to stream it as usual."""
    extensions = scope.get("extensions") or {}
    path_for = getattr(storage, "path_for", None)
    if path_for is None or (ZEROCOPYSEND not in extensions and PATHSEND not in extensions):
        return None
    if byte_range is not None and ZEROCOPYSEND not in extensions:
        return None  # pathsend sends the whole file only
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
