"""What the ``honeydue worker``, ``honeydue scheduler`` and ``honeydue jobs`` commands call."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import dramatiq
import dramatiq.cli
import redis

from honeydue.settings import ConfigError, Settings, get_settings
from workers.actors import ACTORS, send
from workers.broker import (
    Resources,
    StorageFactory,
    channels_for,
    create_broker,
    create_worker_broker,
    open_storage,
    set_resources,
)
from workers.schedule import periodic_jobs
from workers.scheduler import RedisLeaderLock, RedisTickLedger, Scheduler, broker_sender

log = logging.getLogger(__name__)

# Set by ``run_worker`` in the parent before Dramatiq forks its worker processes, which inherit it.
_worker_config: dict[str, Any] | None = None


def _require_redis(settings: Settings, command: str) -> str:
    if not settings.redis_url:
        raise ConfigError(
            f"configuration error: REDIS_URL: required by 'honeydue {command}' "
            "(without Redis, 'honeydue serve' runs the jobs in process)"
        )
    return settings.redis_url


def worker_broker() -> None:
    """Dramatiq's CLI calls this in each worker process (``workers.cli:worker_broker``) to set the broker."""
    config = _worker_config or {"settings": get_settings()}
    extra = []
    if config.get("metrics"):
        from dramatiq.middleware.prometheus import Prometheus

        from honeydue.job_metrics import JobMetrics

        # Dramatiq's own metrics plus honeydue_jobs_total / honeydue_job_duration_seconds, on --metrics-port.
        extra.extend([Prometheus(), JobMetrics()])
    broker = create_worker_broker(
        config["settings"],
        storage_factory=config.get("storage_factory"),
        heartbeat_timeout_ms=config.get("heartbeat_timeout_ms"),
        maintenance_chance=config.get("maintenance_chance"),
    )
    for middleware in extra:
        broker.add_middleware(middleware)


def run_worker(
    settings: Settings,
    processes: int = 1,
    threads: int = 4,
    metrics_port: int | None = None,
    *,
    storage_factory: StorageFactory | None = None,
    heartbeat_timeout_ms: int | None = None,
    maintenance_chance: int | None = None,
) -> int:
    """Run Dramatiq worker processes (Dramatiq's own supervisor: signals, graceful stop, restarts).

    ``metrics_port`` serves Dramatiq's Prometheus metrics there. The other keywords are for tests: a
    storage wrapper, and a short heartbeat timeout so a killed worker's messages come back quickly.
    Returns the process exit code.
    """
    global _worker_config
    _require_redis(settings, "worker")
    _worker_config = {
        "settings": settings,
        "storage_factory": storage_factory,
        "heartbeat_timeout_ms": heartbeat_timeout_ms,
        "maintenance_chance": maintenance_chance,
        "metrics": metrics_port is not None,
    }
    if metrics_port is not None:
        os.environ["dramatiq_prom_port"] = str(metrics_port)  # read when Dramatiq's Prometheus module loads
    args = dramatiq.cli.make_argument_parser().parse_args(
        ["workers.cli:worker_broker", "--processes", str(processes), "--threads", str(threads)]
    )
    return int(dramatiq.cli.main(args) or 0)


def run_scheduler(settings: Settings, *, ttl_ms: int | None = None) -> None:
    """Run one scheduler replica until SIGTERM/SIGINT; any number may run (see ``workers.scheduler``)."""
    client = redis.Redis.from_url(_require_redis(settings, "scheduler"), socket_timeout=5, socket_connect_timeout=5)
    broker = create_broker(settings)
    dramatiq.set_broker(broker)
    lock = RedisLeaderLock(client) if ttl_ms is None else RedisLeaderLock(client, ttl_ms=ttl_ms)
    scheduler = Scheduler(periodic_jobs(settings), broker_sender(broker), lock, RedisTickLedger(client))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: scheduler.stop())
    scheduler.run()
    broker.close()
    client.close()


def list_jobs(settings: Settings) -> list[tuple[str, str]]:
    """Each periodic job and its schedule, for ``honeydue jobs list``."""
    return [(job.name, f"{job.cron} (UTC): {job.description}") for job in periodic_jobs(settings)]


def run_job_now(settings: Settings, name: str, *args: Any, **kwargs: Any) -> str:
    """Enqueue actor ``name`` now (``honeydue jobs run NAME``); without Redis, run it in this process.

    Returns one line saying what happened. Raises ``KeyError`` for an unknown job.
    """
    if name not in ACTORS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(ACTORS))}")
    if settings.redis_url:
        broker = create_broker(settings)
        try:
            message = send(broker, name, *args, **kwargs)
        finally:
            broker.close()
        return f"enqueued {name} (message {message.message_id})"
    asyncio.run(_run_inline(settings, name, args, kwargs))
    return f"ran {name} in this process (no REDIS_URL)"


async def _run_inline(settings: Settings, name: str, args: tuple, kwargs: dict[str, Any]) -> None:
    from honeydue.db import close_db, init_db

    await init_db(settings)
    storage = await open_storage(settings)
    set_resources(Resources(settings, storage, create_broker(settings, in_process=True), channels_for(settings)))
    try:
        await ACTORS[name][0](*args, **kwargs)
    finally:
        set_resources(None)
        await storage.close()
        await close_db()
