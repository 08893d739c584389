"""Fixed-window rate limits: Redis when configured, process memory otherwise.

When Redis is configured but down, limits fall back to memory for that call
instead of failing the request: a degraded limit beats a crashed login.

``hit`` counts every attempt. Limits that count only failures (logins) use ``add``
before the work, so concurrent attempts cannot all slip under the limit, and
``take_back`` when the attempt turned out not to be a failure.
docs/rate-limits.md lists every limit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from honeydue.clock import unix_now

log = logging.getLogger(__name__)


_DECREMENT_IF_PRESENT = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Counted:
    """One counted attempt: the window's key it went to, and the window's count including it."""

    key: str
    value: int


class RateLimiter:
    def __init__(self, redis: aioredis.Redis | None, prefix: str = "honeydue:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._memory: dict[str, tuple[int, float]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one attempt; True while the caller is within ``limit`` per window."""
        return await self.count(key, window_seconds) <= limit

    async def count(self, key: str, window_seconds: int) -> int:
        return (await self.add(key, window_seconds)).value

    async def add(self, key: str, window_seconds: int) -> Counted:
        """Count one attempt in the current window; the result can be taken back with ``take_back``."""
        full_key = self._window_key(key, window_seconds)
        return Counted(full_key, await self._increment(full_key, window_seconds))

    async def take_back(self, counted: Counted) -> None:
        """Undo one ``add`` (in the window it was counted in): the attempt is not one this limit counts."""
        if self._redis is not None:
            try:
                # Only while the window's key lives: a DECR after it expired would leave a -1 with no expiry.
                await self._redis.eval(_DECREMENT_IF_PRESENT, 1, counted.key)
                return
            except (RedisError, OSError) as exc:
                log.warning("rate limit falling back to memory: %s", exc.__class__.__name__)
        entry = self._memory.get(counted.key)
        if entry is not None and entry[0] > 0:
            self._memory[counted.key] = (entry[0] - 1, entry[1])

    def _window_key(self, key: str, window_seconds: int) -> str:
        return f"{self._prefix}{key}:{int(unix_now() // window_seconds)}"

    async def _increment(self, full_key: str, window_seconds: int) -> int:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(full_key)
                    pipe.expire(full_key, window_seconds + 1)
                    value, _ = await pipe.execute()
                return int(value)
            except (RedisError, OSError) as exc:
                log.warning("rate limit falling back to memory: %s", exc.__class__.__name__)
        return self._count_in_memory(full_key, window_seconds)

    async def reset(self, key: str, window_seconds: int) -> None:
        full_key = self._window_key(key, window_seconds)
        self._memory.pop(full_key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(full_key)
            except (RedisError, OSError):
                pass

    async def reset_all(self, key_prefix: str) -> None:
        """Forget every count whose key starts with ``key_prefix`` (all windows): a rare, deliberate act.

        Redis is walked with SCAN (never KEYS), in batches, so a big keyspace does not stall the server.
        """
        pattern_prefix = f"{self._prefix}{key_prefix}"
        for full_key in [k for k in self._memory if k.startswith(pattern_prefix)]:
            del self._memory[full_key]
        if self._redis is not None:
            escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in pattern_prefix)
            try:
                batch: list[bytes | str] = []
                async for full_key in self._redis.scan_iter(match=f"{escaped}*", count=500):
                    batch.append(full_key)
                    if len(batch) >= 500:
                        await self._redis.delete(*batch)
                        batch = []
                if batch:
                    await self._redis.delete(*batch)
            except (RedisError, OSError):
                pass

    def _count_in_memory(self, full_key: str, window_seconds: int) -> int:
        now = time.monotonic()
        if len(self._memory) > 10_000:
            self._memory = {k: v for k, v in self._memory.items() if v[1] > now}
        count, expires = self._memory.get(full_key, (0, now + window_seconds))
        if expires <= now:
            count, expires = 0, now + window_seconds
        self._memory[full_key] = (count + 1, expires)
        return count + 1
