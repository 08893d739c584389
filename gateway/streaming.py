"""One upstream GET per client request, streamed with back-pressure and always closed.

The route decides status and headers from the media row before calling
:func:`open_upstream`; this module maps store failures that happen before the
first byte to clear statuses, then relays the body. ``await send`` blocks while
the client's socket buffer is full (uvicorn's flow control), so at most a chunk
or two is in memory per request. When the client goes away, the upstream body
is closed in a ``finally``: a leaked aiobotocore body pins a pooled connection,
and enough of them exhaust the pool for every other request.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import anyio
from starlette.types import Receive, Scope, Send

from gateway.ranges import ByteRange
from honeydue.metrics import record_bytes_streamed, record_upstream_error
from honeydue.storage.base import (
    AccessDenied,
    BucketNotFound,
    ObjectNotFound,
    ObjectStream,
    Storage,
    StorageError,
    StorageTimeout,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

OPEN_TIMEOUT_SECONDS = 15.0
RETRY_AFTER_SECONDS = 5


class UpstreamFailure(Exception):
    """The store failed before the first byte; ``status`` is what the client gets."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class UpstreamBroken(Exception):
    """The store failed or fell short after the response started: the connection is aborted."""


async def open_upstream(
    storage: Storage, key: str, byte_range: tuple[int, int] | None, open_timeout: float = OPEN_TIMEOUT_SECONDS
) -> ObjectStream:
    """``storage.open`` with store errors turned into :class:`UpstreamFailure` (and counted by kind)."""
    try:
        async with asyncio.timeout(open_timeout):
            return await storage.open(key, byte_range)
    except ObjectNotFound:
        record_upstream_error("not_found")
        raise UpstreamFailure(404, "object not found") from None
    except AccessDenied:
        # Our own credentials were refused: a store/configuration fault, not the client's.
        record_upstream_error("denied")
        raise UpstreamFailure(502, "store refused the gateway") from None
    except (TimeoutError, StorageTimeout):  # our own open_timeout, or the store's connect/read timeout
        record_upstream_error("timeout")
        raise UpstreamFailure(504, "store timed out", RETRY_AFTER_SECONDS) from None
    except StorageUnavailable:
        record_upstream_error("unavailable")
        raise UpstreamFailure(503, "store unavailable", RETRY_AFTER_SECONDS) from None
    except BucketNotFound as exc:
        # The configuration is wrong, not the link: say so in the log, and never answer 404 (cacheable).
        log.error("bucket not found: %s (B2_BUCKET_NAME; bucket names are case-sensitive)", exc.bucket)
        record_upstream_error("error")
        raise UpstreamFailure(502, "store error: bucket not found", RETRY_AFTER_SECONDS) from None
    except StorageError:
        record_upstream_error("error")
        raise UpstreamFailure(502, "store error", RETRY_AFTER_SECONDS) from None


@dataclass(frozen=True)
class MultipartLayout:
    """The framing of a ``multipart/byteranges`` body, known before any byte is read."""

    boundary: str
    part_headers: tuple[bytes, ...]
    closing: bytes
    content_length: int

    @property
    def content_type(self) -> str:
        return f"multipart/byteranges; boundary={self.boundary}"


def multipart_layout(ranges: tuple[ByteRange, ...], content_type: str, size: int) -> MultipartLayout:
    boundary = secrets.token_hex(16)
    headers = tuple(
        (b"\r\n" if index else b"")
        + f"--{boundary}\r\nContent-Type: {content_type}\r\n"
          f"Content-Range: {part.content_range(size)}\r\n\r\n".encode("latin-1")
        for index, part in enumerate(ranges)
    )
    closing = f"\r\n--{boundary}--\r\n".encode("latin-1")
    length = sum(len(h) for h in headers) + sum(r.length for r in ranges) + len(closing)
    return MultipartLayout(boundary, headers, closing, length)


class UpstreamResponse:
    """An ASGI response relaying an open :class:`ObjectStream` (one range or several).

    ``ranges`` is None to relay the upstream body as is (full object or one
    range); otherwise the upstream covers ``ranges[0].first..ranges[-1].last``
    and the parts are cut out of it in one pass.
    """

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        upstream: ObjectStream,
        expected_length: int,
        ranges: tuple[ByteRange, ...] | None = None,
        layout: MultipartLayout | None = None,
    ) -> None:
        self.status = status
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        self.upstream = upstream
        self.expected_length = expected_length
        self.ranges = ranges
        self.layout = layout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def watch_disconnect() -> None:
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            group.cancel_scope.cancel()
                            return

                group.start_soon(watch_disconnect)
                try:
                    await self._relay(send)
                except OSError:
                    pass  # the client went away while we were writing
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()

    async def _relay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        body = self._multipart_body() if self.ranges is not None else self._single_body()
        # The piece that completes the body goes with more_body=False: no empty closing message, which is one
        # trip through the middleware and (granian) one hand-over to the server's thread less per response.
        remaining = self.layout.content_length if self.layout is not None else self.expected_length
        finished = False
        try:
            async for piece in body:
                remaining -= len(piece)
                finished = remaining <= 0
                await send({"type": "http.response.body", "body": piece, "more_body": not finished})
                record_bytes_streamed(len(piece))
                if finished:
                    break
        except (StorageError, UpstreamBroken) as exc:
            record_upstream_error("broken")
            log.warning("upstream failed mid-stream, aborting the response: %s", exc)
            raise UpstreamBroken(str(exc)) from exc
        finally:
            await body.aclose()
        if not finished:  # an empty body (a short one was refused above by the body iterators)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _single_body(self) -> AsyncGenerator[bytes, None]:
        sent = 0
        expected = self.expected_length
        async for chunk in self.upstream.chunks:
            if not chunk:
                continue
            if sent + len(chunk) > expected:
                chunk = chunk[: expected - sent]
            sent += len(chunk)
            yield chunk
            if sent >= expected:
                break
        if sent != expected:
            raise UpstreamBroken(f"upstream ended after {sent} of {expected} bytes")

    async def _multipart_body(self) -> AsyncGenerator[bytes, None]:
        assert self.ranges is not None and self.layout is not None
        parts, headers = self.ranges, self.layout.part_headers
        position = parts[0].first
        index = 0
        in_part = False
        async for chunk in self.upstream.chunks:
            start, end = position, position + len(chunk)  # chunk covers [start, end)
            while index < len(parts) and parts[index].first < end:
                part = parts[index]
                if not in_part:
                    yield headers[index]
                    in_part = True
                low, high = max(part.first, start), min(part.last + 1, end)
                if high > low:
                    yield chunk[low - start : high - start]
                if part.last + 1 > end:
                    break
                index += 1
                in_part = False
            position = end
            if index == len(parts):
                break
        if index != len(parts):
            raise UpstreamBroken(f"upstream ended at byte {position} before the last range")
        yield self.layout.closing
