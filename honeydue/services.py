"""``Services``: everything long-lived one process holds, opened and closed by ``open_services``.

Every process kind wires itself through this one context manager: the API and the gateway in their
lifespans, ``honeydue serve`` (whose in-process jobs get the very same object, so one storage client
serves both), each ``honeydue worker`` process at worker boot, ``honeydue jobs run`` without Redis, and
the tests. A route reaches the object with ``services_of(request)``, a resolver with
``info.context.services``, an actor with ``workers.broker.current_services()``.

Ownership is one rule: what ``open_services`` opens it closes; what the caller passes in (a storage
client to share, the process's broker) stays the caller's and is left open.

Like the app factories, this module assembles the packages above ``honeydue/``: the notification
channels are the workers' (``workers.notify``), imported when the services open.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dramatiq
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from honeydue.db import Database, close_db, init_db
from honeydue.ratelimit import RateLimiter
from honeydue.redis_client import create_redis
from honeydue.settings import Settings
from honeydue.storage import Storage, create_storage

if TYPE_CHECKING:
    from honeydue.storage.s3 import S3Storage
    from workers.notify import Channel

log = logging.getLogger(__name__)

StorageFactory = Callable[[Settings], Awaitable[Storage]]


@dataclass(frozen=True)
class Services:
    """One process's long-lived clients; built only by ``open_services`` (tests swap parts with ``replace``)."""

    settings: Settings
    db: Database
    storage: Storage
    # None without REDIS_URL: rate limits then count in memory and the gateway's access cache is off.
    redis: aioredis.Redis | None
    # The broker jobs are sent through; None where the process sends none (the gateway, most tests).
    broker: dramatiq.Broker | None
    # Where notifications go besides the app (email, or the log without SMTP); only the jobs send.
    channels: Sequence[Channel]
    rate_limiter: RateLimiter
    # MEDIA_SIGNING_KEY (and the previous one), read once: embedded mode keeps its key in a file.
    signing_keys: list[bytes]
    # The backup bucket (BACKUP_*), always an S3 store; None while BACKUP_ENDPOINT is unset (backup off).
    backup: S3Storage | None = None


async def start_storage(settings: Settings) -> Storage:
    """The backend the settings call for, started."""
    storage = create_storage(settings)
    await storage.start()
    return storage


async def start_backup(settings: Settings) -> S3Storage | None:
    """The backup bucket's client, started; None while no backup is configured."""
    if not settings.uses_backup:
        return None
    from honeydue.storage.s3 import S3Storage  # aioboto3 is only imported when a bucket is used

    backup = S3Storage.backup_from_settings(settings)
    await backup.start()
    return backup


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    broker: dramatiq.Broker | None = None,
    storage: Storage | None = None,
    storage_factory: StorageFactory = start_storage,
    open_db: bool = True,
) -> AsyncIterator[Services]:
    """Open the ORM, the storage client and Redis once; close what was opened here, in reverse order, on exit.

    ``broker``: the process's broker, made by whoever assembles the process (``workers.broker``), carried
    so jobs can send through it. ``storage``: an open client to share instead of opening one;
    ``storage_factory`` opens one otherwise (worker tests wrap it). ``open_db=False`` when the caller
    already holds the ORM (the test suite's ``database`` fixture).
    """
    from workers.notify import channels_from_settings

    async with contextlib.AsyncExitStack() as stack:
        if open_db:
            await init_db(settings)
            stack.push_async_callback(close_db)
        if storage is None:
            storage = await storage_factory(settings)
            stack.push_async_callback(storage.close)
        backup = await start_backup(settings)
        if backup is not None:
            stack.push_async_callback(backup.close)
        redis = create_redis(settings)
        if redis is not None:
            stack.push_async_callback(redis.aclose)
        yield Services(
            settings=settings,
            db=Database(settings.is_postgres),
            storage=storage,
            redis=redis,
            broker=broker,
            channels=channels_from_settings(settings),
            rate_limiter=RateLimiter(redis),
            signing_keys=settings.signing_keys(),
            backup=backup,
        )


def attach_services(app: Starlette, services: Services) -> None:
    """Make ``services`` the app's, for ``services_of`` (the lifespan does this; tests without one too)."""
    app.state.services = services


def services_of(source: HTTPConnection | Starlette) -> Services:
    """The services of the app serving ``source`` (a request, or the app itself)."""
    app = source.app if isinstance(source, HTTPConnection) else source
    services = getattr(app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app's services are not open: its lifespan (or attach_services) did not run")
    return services
