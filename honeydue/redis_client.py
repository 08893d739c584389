"""The process's Redis client (broker and cache), or None when REDIS_URL is unset."""

from __future__ import annotations

import redis.asyncio as aioredis

from honeydue.settings import Settings


def create_redis(settings: Settings) -> aioredis.Redis | None:
    if not settings.redis_url:
        return None
    # Short timeouts: a Redis outage must degrade the cache and rate limits, not hang requests.
    return aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
    )
