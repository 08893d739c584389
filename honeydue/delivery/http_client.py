"""One ``httpx.AsyncClient`` per transport and event loop.

A transport lives as long as its process's services, but a client's connections belong to the event loop
that opened them: ``honeydue jobs run`` runs each job under its own ``asyncio.run``, while a worker keeps one
loop. ``LoopClient`` hands out the client of the running loop and makes a new one when the loop changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx


class LoopClient:
    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            # The old loop's client is dropped, not closed: closing it needs that loop, which may be gone.
            self._client, self._loop = self._factory(), loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
