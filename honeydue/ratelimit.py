"""Fixed-window rate limits: Redis when configured, process memory otherwise.

When Redis is configured but down, limits fall back to memory for that call
instead of failing the request: a degraded limit beats a crashed login.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, redis: aioredis.Redis | None, prefix: str = "honeydue:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._memory: dict[str, tuple[int, float]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one attempt; True while the caller is within ``limit`` per window."""
        return await self.count(key, window_seconds) <= limit

    async def count(self, key: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        full_key = f"{self._prefix}{key}:{window}"
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
        window = int(time.time() // window_seconds)
        full_key = f"{self._prefix}{key}:{window}"
        self._memory.pop(full_key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(full_key)
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
