"""The Dramatiq broker of every honeydue process, and what a worker process opens once for its actors.

* With ``REDIS_URL``: a ``RedisBroker``. A fetched message sits in that worker's Redis "acks" set until the
  worker acknowledges it, and Dramatiq acknowledges only after the actor returned (or after the Retries
  middleware re-enqueued it with backoff): a worker killed mid-job never acks, and the broker's maintenance
  moves unacked messages of workers whose heartbeat is older than ``heartbeat_timeout`` (default 60 s) back
  to the queue. Long jobs are also covered by a durable record and a sweeper where it matters (purges).
* Without Redis (embedded ``honeydue serve``): a ``StubBroker`` consumed by an in-process ``Worker``
  (see ``workers.embedded``), so the embedded service runs the very same actors.

Async actors run through Dramatiq's ``AsyncIO`` middleware: one event loop thread per worker process.
``WorkerServices`` opens the process's ``Services`` (``honeydue.services.open_services``: the ORM, the
storage client, Redis, the notification channels) on that loop once, at worker boot, and closes them at
shutdown, so no message pays for (or leaks) an event loop, a connection pool or an S3 client. Actors reach
them with ``current_services()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Middleware, Retries, default_middleware

from honeydue.services import Services, StorageFactory, open_services, start_storage
from honeydue.settings import Settings

log = logging.getLogger(__name__)

# Retries: 1 s doubling up to 10 min, 12 times (about an hour of trying) before a message is dead-lettered.
# Periodic jobs are re-sent by the scheduler anyway; purges by their sweeper.
MAX_RETRIES = 12
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 10 * 60_000

_services: Services | None = None


def current_services() -> Services:
    """The services of this process's actors (a worker process's, or the embedded server's)."""
    if _services is None:
        raise RuntimeError("the actors' services are not open: is the WorkerServices middleware installed?")
    return _services


def set_current_services(services: Services | None) -> None:
    global _services
    _services = services


class WorkerServices(Middleware):
    """Open the process's services on Dramatiq's event loop at worker boot; close them at worker shutdown.

    Listed after ``AsyncIO``: ``before_worker_boot`` hooks run in list order (the loop exists by then)
    and ``after_worker_shutdown`` hooks in reverse order (closed before the loop stops).
    """

    def __init__(self, settings: Settings, storage_factory: StorageFactory | None = None) -> None:
        self.settings = settings
        self.storage_factory = storage_factory or start_storage
        self._open_services: contextlib.AsyncExitStack | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        _loop_thread().run_coroutine(self._open(broker))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        _loop_thread().run_coroutine(self._close())

    async def _open(self, broker: dramatiq.Broker) -> None:
        stack = contextlib.AsyncExitStack()
        services = await stack.enter_async_context(
            open_services(self.settings, broker=broker, storage_factory=self.storage_factory)
        )
        self._open_services = stack
        set_current_services(services)
        log.info("worker services open")

    async def _close(self) -> None:
        set_current_services(None)
        stack, self._open_services = self._open_services, None
        if stack is not None:
            await stack.aclose()


class HostLoop(EventLoopThread):
    """Run async actors on an event loop that is already running (the embedded app's), not a thread of ours.

    The embedded server's ORM connections and storage client belong to its loop; sharing that loop means
    the jobs use them as they are, instead of a second set bound to a second loop. Dramatiq's actors only
    call ``run_coroutine``, which submits to the public ``loop`` attribute; this thread is never started.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(log)
        self.loop.close()  # the loop Dramatiq's constructor made: never run, the host's runs the actors
        self.loop = loop

    def start(self, *, timeout: float | None = None) -> None:
        raise RuntimeError("HostLoop runs on the host's loop; there is no thread to start")

    def stop(self) -> None:
        """Nothing to stop: the host's loop belongs to the server, which stops it."""


class HostLoopAsyncIO(Middleware):
    """The embedded counterpart of ``AsyncIO``: async actors run on the given loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        set_event_loop_thread(HostLoop(self.loop))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        set_event_loop_thread(None)


def _loop_thread() -> EventLoopThread:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("no Dramatiq event loop: the AsyncIO middleware must come before WorkerServices")
    return thread


def base_middleware() -> list[Middleware]:
    """Dramatiq's defaults, with our retry policy instead of its 20 retries up to 7 days apart."""
    middleware: list[Middleware] = [m() for m in default_middleware if m is not Retries]
    middleware.append(Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS))
    return middleware


def create_broker(
    settings: Settings,
    *,
    extra_middleware: Sequence[Middleware] = (),
    heartbeat_timeout_ms: int | None = None,
    maintenance_chance: int | None = None,
    in_process: bool | None = None,
) -> dramatiq.Broker:
    """A broker with every honeydue actor declared: Redis when configured, in-process otherwise.

    ``in_process=True`` forces the in-process broker even when Redis is configured (embedded mode).

    ``heartbeat_timeout_ms`` / ``maintenance_chance`` (per million commands) tune how soon the messages of a
    dead worker are requeued; the defaults (60 s, 1000) suit production, tests lower them.
    """
    from workers.actors import declare_actors

    middleware = [*base_middleware(), *extra_middleware]
    broker: dramatiq.Broker
    if in_process is None:
        in_process = not settings.redis_url
    if not in_process:
        options: dict[str, Any] = {}
        if heartbeat_timeout_ms is not None:
            options["heartbeat_timeout"] = heartbeat_timeout_ms
        if maintenance_chance is not None:
            options["maintenance_chance"] = maintenance_chance
        broker = RedisBroker(url=settings.redis_url, middleware=middleware, **options)
    else:
        broker = StubBroker(middleware=middleware)
    declare_actors(broker)
    return broker


def install_broker(settings: Settings) -> dramatiq.Broker:
    """Create the broker and make it the process-global one ``honeydue.jobs.enqueue`` sends through.

    For processes that only send (the API, the scheduler): no worker middleware.
    """
    broker = create_broker(settings)
    dramatiq.set_broker(broker)
    return broker


def create_worker_broker(
    settings: Settings,
    *,
    storage_factory: StorageFactory | None = None,
    heartbeat_timeout_ms: int | None = None,
    maintenance_chance: int | None = None,
) -> dramatiq.Broker:
    """The broker of a ``honeydue worker`` process: async actors plus the once-per-process services."""
    broker = create_broker(
        settings,
        extra_middleware=[AsyncIO(), WorkerServices(settings, storage_factory)],
        heartbeat_timeout_ms=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )
    dramatiq.set_broker(broker)
    return broker
