"""Jobs inside the embedded ``honeydue serve`` process: no Redis, same actors, same schedule.

An in-process ``StubBroker`` is consumed by a Dramatiq ``Worker`` running in threads of this process, and
its async actors run on the server's own event loop (``HostLoopAsyncIO``), so they share the server's ORM
connections; the scheduler loop runs in a thread with an in-process lock (it is the only replica).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq

from honeydue.settings import Settings
from honeydue.storage.base import Storage
from workers.broker import HostLoopAsyncIO, Resources, channels_for, create_broker, open_storage, set_resources
from workers.schedule import periodic_jobs
from workers.scheduler import LocalLeaderLock, LocalTickLedger, Scheduler, broker_sender

log = logging.getLogger(__name__)

WORKER_THREADS = 2
STOP_TIMEOUT_MS = 30_000


@asynccontextmanager
async def run_embedded_jobs(
    settings: Settings,
    *,
    storage: Storage | None = None,
    run_scheduler: bool = True,
    worker_threads: int = WORKER_THREADS,
) -> AsyncIterator[dramatiq.Broker]:
    """Start the in-process worker and scheduler; stop both on exit. Yields the broker.

    Enter it in the app lifespan *after* ``init_db`` (the jobs use the app's ORM). Pass the app's storage
    client to share it; otherwise one is opened here and closed on exit. The broker becomes the global
    one, so ``honeydue.jobs.enqueue`` reaches the in-process worker.
    """
    loop = asyncio.get_running_loop()
    own_storage = storage is None
    if storage is None:
        storage = await open_storage(settings)
    broker = create_broker(settings, extra_middleware=[HostLoopAsyncIO(loop)], in_process=True)
    dramatiq.set_broker(broker)
    set_resources(Resources(settings, storage, broker, channels_for(settings)))
    worker = dramatiq.Worker(broker, worker_threads=worker_threads)
    worker.start()
    scheduler: Scheduler | None = None
    thread: threading.Thread | None = None
    if run_scheduler:
        scheduler = Scheduler(
            periodic_jobs(settings), broker_sender(broker), LocalLeaderLock(), LocalTickLedger()
        )
        thread = threading.Thread(target=scheduler.run, name="honeydue-scheduler", daemon=True)
        thread.start()
    log.info("embedded jobs running (%d worker threads)", worker_threads)
    try:
        yield broker
    finally:
        if scheduler is not None and thread is not None:
            scheduler.stop()
            await asyncio.to_thread(thread.join)
        # Off the loop: the worker threads wait for coroutines that run on this very loop.
        await asyncio.to_thread(worker.stop, STOP_TIMEOUT_MS)
        set_resources(None)
        if own_storage:
            await storage.close()
