"""``UpstreamResponse``'s disconnect watcher: a client leaving ends the relay quietly, anything else goes on.

In-process, with an ASGI receive/send pair: the cases here (a cancel from the server at shutdown racing the
client's, a task left half-cancelled) cannot be timed from a real socket. The real-server case, that a
vanished client always releases the store's connection, is tests/test_gateway.py's
``test_client_disconnects_release_the_upstream`` on both servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from starlette.types import Message

from gateway.streaming import UpstreamBroken, UpstreamResponse
from honeydue.storage.base import ObjectInfo, ObjectStream

PIECE = b"x" * 1024


class Upstream:
    """An open store GET of ``pieces`` pieces that can stall (``stall_after``) or break off (``break_after``)."""

    def __init__(self, pieces: int, stall_after: int | None = None, break_after: int | None = None) -> None:
        self.pieces, self.stall_after, self.break_after = pieces, stall_after, break_after
        self.closed = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        for index in range(self.pieces):
            if index == self.stall_after:
                await asyncio.Event().wait()  # the store stops sending
            if index == self.break_after:
                return  # ends short: the relay must notice
            await asyncio.sleep(0)
            yield PIECE

    def stream(self) -> ObjectStream:
        async def close() -> None:
            self.closed += 1

        info = ObjectInfo(key="k", size=len(PIECE) * self.pieces, etag="e", last_modified=datetime.now(UTC),
                          content_type="application/octet-stream")
        return ObjectStream(info=info, status=200, content_length=info.size, content_range=None,
                            chunks=self.chunks(), _closers=[close])


class Client:
    """The server's side of one request: ``receive`` blocks until ``leave()``; ``send`` records messages."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.gone = asyncio.Event()
        self.three_pieces_sent = asyncio.Event()
        self.requested = False

    async def receive(self) -> Message:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if len(self.sent) == 4:  # the start and three pieces
            self.three_pieces_sent.set()
        await asyncio.sleep(0)

    def leave(self) -> None:
        self.gone.set()

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def response(upstream: Upstream) -> UpstreamResponse:
    return UpstreamResponse(200, [("Content-Type", "application/octet-stream")], upstream.stream(),
                            len(PIECE) * upstream.pieces)


async def test_the_whole_body_is_relayed_and_the_upstream_closed() -> None:
    upstream, client = Upstream(8), Client()
    await response(upstream)({"type": "http"}, client.receive, client.send)
    assert client.body == PIECE * 8 and client.sent[-1]["more_body"] is False
    assert upstream.closed == 1
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_client_leaving_ends_the_relay_quietly_and_leaves_the_task_usable() -> None:
    upstream, client = Upstream(8, stall_after=3), Client()

    async def handle() -> int:
        await response(upstream)({"type": "http"}, client.receive, client.send)
        await asyncio.sleep(0.01)  # the task goes on normally: no cancel left pending
        return asyncio.current_task().cancelling()  # type: ignore[union-attr]

    task = asyncio.create_task(handle())
    await client.three_pieces_sent.wait()  # then the store stalls
    client.leave()
    assert await asyncio.wait_for(task, 5) == 0
    assert upstream.closed == 1 and client.body == PIECE * 3


async def test_a_shutdown_cancel_is_not_swallowed() -> None:
    upstream, client = Upstream(8, stall_after=3), Client()
    task = asyncio.create_task(response(upstream)({"type": "http"}, client.receive, client.send))
    await client.three_pieces_sent.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert upstream.closed == 1


async def test_a_shutdown_cancel_racing_the_client_leaving_is_not_swallowed() -> None:
    upstream, client = Upstream(8, stall_after=3), Client()
    task = asyncio.create_task(response(upstream)({"type": "http"}, client.receive, client.send))
    await client.three_pieces_sent.wait()
    client.leave()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert upstream.closed == 1


async def test_a_short_upstream_is_raised_as_before() -> None:
    """As the anyio task group raised it: the server logs one failed request and cuts the connection."""
    upstream, client = Upstream(8, break_after=5), Client()
    with pytest.raises(BaseExceptionGroup) as raised:
        await response(upstream)({"type": "http"}, client.receive, client.send)
    assert raised.group_contains(UpstreamBroken)
    assert upstream.closed == 1 and client.sent[-1]["more_body"] is True
