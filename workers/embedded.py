"""Jobs inside the embedded ``honeydue serve`` process: no Redis, same actors, same schedule.

An in-process ``StubBroker`` is consumed by a Dramatiq ``Worker`` running in threads of this process, and
its async actors run on the server's own event loop (``HostLoopAsyncIO``), so they use the server's own
services (ORM connections, storage client) rather than a second set; the scheduler loop runs in a thread
with an in-process lock (it is the only replica).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq

from honeydue.services import Services
from honeydue.settings import Settings
from workers.broker import HostLoopAsyncIO, create_broker, set_current_services
from workers.schedule import periodic_jobs
from workers.scheduler import LocalLeaderLock, LocalTickLedger, Scheduler, broker_sender

log = logging.getLogger(__name__)

WORKER_THREADS = 2
STOP_TIMEOUT_MS = 30_000
# How long an idle worker thread waits for a message before it looks again (and notices a stop). Dramatiq's
# default of a second made every stop of the embedded server (and of each test that runs jobs) wait a second;
# the in-memory broker makes a shorter poll cheap.
POLL_TIMEOUT_MS = 100


def embedded_broker(settings: Settings) -> dramatiq.Broker:
    """The in-process broker whose async actors run on the calling (running) event loop; made global.

    Global so ``honeydue.jobs.enqueue`` reaches the in-process worker. Call it from the server's loop and
    hand the broker to ``open_services``, then start the worker with ``run_embedded_jobs``.
    """
    broker = create_broker(
        settings, extra_middleware=[HostLoopAsyncIO(asyncio.get_running_loop())], in_process=True
    )
    dramatiq.set_broker(broker)
    return broker


@asynccontextmanager
async def run_embedded_jobs(
    services: Services,
    *,
    run_scheduler: bool = True,
    worker_threads: int = WORKER_THREADS,
) -> AsyncIterator[None]:
    """Start the in-process worker and scheduler on ``services.broker`` (an ``embedded_broker``); stop both on exit.

    The actors get ``services`` themselves: the server's ORM and its one storage client.
    """
    broker = services.broker
    if broker is None:
        raise ValueError("embedded jobs need the services opened with an embedded_broker")
    set_current_services(services)
    worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=POLL_TIMEOUT_MS)
    worker.start()
    scheduler: Scheduler | None = None
    thread: threading.Thread | None = None
    if run_scheduler:
        scheduler = Scheduler(
            periodic_jobs(services.settings), broker_sender(broker), LocalLeaderLock(), LocalTickLedger()
        )
        thread = threading.Thread(target=scheduler.run, name="honeydue-scheduler", daemon=True)
        thread.start()
    log.info("embedded jobs running (%d worker threads)", worker_threads)
    try:
        yield
    finally:
        if scheduler is not None and thread is not None:
            scheduler.stop()
            await asyncio.to_thread(thread.join)
        # Off the loop: the worker threads wait for coroutines that run on this very loop.
        await asyncio.to_thread(worker.stop, STOP_TIMEOUT_MS)
        set_current_services(None)
