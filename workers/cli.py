"""What the ``honeydue worker``, ``honeydue scheduler`` and ``honeydue jobs`` commands call."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import dramatiq.cli
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import QueueJoinTimeout

from honeydue.delivery.attempt import SEND_DELIVERY_JOB
from honeydue.jobs import QUEUE, send_job
from honeydue.mail.outbox import SEND_EMAIL_JOB
from honeydue.services import StorageFactory, open_services
from honeydue.settings import ConfigError, Settings, get_settings
from workers.actors import ACTORS
from workers.broker import create_broker, create_worker_broker
from workers.heartbeat import HEARTBEAT_INTERVAL_SECONDS, HEARTBEAT_MAX_AGE_SECONDS, Heartbeat
from workers.http_endpoints import WorkerEndpoints
from workers.lifecycle import JOB_GRACE_SECONDS, GracefulStop
from workers.schedule import periodic_jobs
from workers.scheduler import RedisLeaderLock, RedisTickLedger, Scheduler, broker_sender

log = logging.getLogger(__name__)

# How long `honeydue jobs run` without Redis waits for the jobs the job sent (a first email attempt is quick).
INLINE_FOLLOW_UP_WAIT_MS = 60_000


@dataclass(frozen=True)
class WorkerConfig:
    """What ``run_worker`` hands to the processes Dramatiq forks from it (they inherit this module's state)."""

    settings: Settings
    processes: int
    run_dir: Path  # this run's heartbeats and metrics files, removed when it ends
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"  # the pod's address: Prometheus and the kubelet's probes come from outside
    storage_factory: StorageFactory | None = None
    heartbeat_timeout_ms: int | None = None
    maintenance_chance: int | None = None
    heartbeat_interval: float = HEARTBEAT_INTERVAL_SECONDS
    heartbeat_max_age: float = HEARTBEAT_MAX_AGE_SECONDS

    @property
    def heartbeat_dir(self) -> Path:
        return self.run_dir / "heartbeats"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / "metrics"


# Set by ``run_worker`` in the parent before Dramatiq forks its worker processes, which inherit it.
_worker_config: WorkerConfig | None = None


def current_worker_config() -> WorkerConfig:
    if _worker_config is None:
        raise RuntimeError("no worker configuration: this runs in a process forked by run_worker")
    return _worker_config


def _require_redis(settings: Settings, command: str) -> str:
    if not settings.redis_url:
        raise ConfigError(
            f"configuration error: REDIS_URL: required by 'honeydue {command}' "
            "(without Redis, 'honeydue serve' runs the jobs in process)"
        )
    return settings.redis_url


def worker_broker() -> None:
    """Dramatiq's CLI calls this in each worker process (``workers.cli:worker_broker``) to set the broker."""
    config = _worker_config
    if config is None:  # started by Dramatiq's own CLI rather than ``honeydue worker``
        settings = get_settings()
        config = WorkerConfig(settings, processes=1, run_dir=_run_dir_for(settings, os.getppid()))
    extra: list[dramatiq.Middleware] = [GracefulStop(), Heartbeat(config.heartbeat_dir, config.heartbeat_interval)]
    if config.metrics_port is not None:
        from workers.job_metrics import JobMetrics

        # Dramatiq's metrics plus honeydue_jobs_total / honeydue_job_duration_seconds, served with /healthz by
        # the WorkerEndpoints fork on --metrics-port.
        extra.extend([_dramatiq_prometheus(config.metrics_dir), JobMetrics(), WorkerEndpoints()])
    broker = create_worker_broker(
        config.settings,
        storage_factory=config.storage_factory,
        heartbeat_timeout_ms=config.heartbeat_timeout_ms,
        maintenance_chance=config.maintenance_chance,
    )
    for middleware in extra:
        broker.add_middleware(middleware)


def _dramatiq_prometheus(metrics_dir: Path) -> dramatiq.Middleware:
    """Dramatiq's ``Prometheus`` middleware writing to this run's directory, without its own HTTP server."""
    from dramatiq.middleware import prometheus

    class DramatiqMetrics(prometheus.Prometheus):
        @property
        def forks(self) -> list:
            return []  # WorkerEndpoints serves /metrics

        def after_process_boot(self, broker: dramatiq.Broker) -> None:
            # Its directory is read from the environment when the module is first imported; name ours.
            prometheus.DB_PATH = str(metrics_dir)
            super().after_process_boot(broker)

    return DramatiqMetrics()


def _run_dir_for(settings: Settings, supervisor_pid: int) -> Path:
    return settings.honeydue_var_dir / "worker" / str(supervisor_pid)


def _fresh_run_dir(settings: Settings) -> Path:
    """This run's directory, empty; the directories of runs whose supervisor is gone are removed."""
    parent = settings.honeydue_var_dir / "worker"
    if parent.is_dir():
        for old in parent.iterdir():
            if old.name.isdigit() and not _alive(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    run_dir = _run_dir_for(settings, os.getpid())
    shutil.rmtree(run_dir, ignore_errors=True)  # a previous container's run with the same pid (often 1)
    (run_dir / "heartbeats").mkdir(parents=True)
    (run_dir / "metrics").mkdir()
    return run_dir


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_worker(
    settings: Settings,
    processes: int = 1,
    threads: int = 4,
    metrics_port: int | None = None,
    *,
    storage_factory: StorageFactory | None = None,
    heartbeat_timeout_ms: int | None = None,
    maintenance_chance: int | None = None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL_SECONDS,
    heartbeat_max_age: float = HEARTBEAT_MAX_AGE_SECONDS,
    metrics_host: str = "0.0.0.0",
) -> int:
    """Run Dramatiq's supervisor and worker processes until SIGTERM/SIGINT; returns the exit code.

    A stop lets jobs in hand finish for ``JOB_GRACE_SECONDS``, requeues the rest, and has every process gone
    within ``GRACE_SECONDS`` (``workers.lifecycle``). ``metrics_port`` serves ``/metrics`` (the counters of
    all worker processes) and ``/healthz`` (their heartbeats, ``workers.heartbeat``) there. The other keywords
    are for tests: a storage wrapper, a short broker heartbeat timeout so a killed worker's messages come back
    quickly, and a faster liveness heartbeat.
    """
    global _worker_config
    _require_redis(settings, "worker")
    run_dir = _fresh_run_dir(settings)
    _worker_config = WorkerConfig(
        settings=settings,
        processes=processes,
        run_dir=run_dir,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        storage_factory=storage_factory,
        heartbeat_timeout_ms=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
        heartbeat_interval=heartbeat_interval,
        heartbeat_max_age=heartbeat_max_age,
    )
    # prometheus_client picks its value store when first imported. Nothing in this process has imported it, so
    # each forked worker process imports it with this set and writes its counts where /metrics merges them.
    previous = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_worker_config.metrics_dir)
    args = dramatiq.cli.make_argument_parser().parse_args([
        "workers.cli:worker_broker", "--processes", str(processes), "--threads", str(threads),
        "--worker-shutdown-timeout", str(JOB_GRACE_SECONDS * 1000),
    ])
    try:
        return int(dramatiq.cli.main(args) or 0)
    finally:
        if previous is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = previous
        shutil.rmtree(run_dir, ignore_errors=True)


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


# The jobs that are not periodic: what each needs, given by its sender, and what to run by hand instead.
SENT_WITH_AN_ID = {
    "send_notifications": "the ids of the notifications to send (the API sends them with the event)",
    "purge_account": "the id of an account purge (run sweep_account_purges: it sends every unfinished purge)",
    SEND_EMAIL_JOB: "the id of a queued email (run sweep_email_outbox: it sends every email that is due)",
    "build_data_export": "the id of a data export (run sweep_data_exports: it sends every unfinished one)",
    "send_password_reset": "the email address a reset was requested for (requestPasswordReset sends it)",
    SEND_DELIVERY_JOB: "the id of a queued notification delivery (run sweep_notification_deliveries: it sends "
                       "every delivery that is due)",
    "make_media_variants": "the id of a READY media (run sweep_media_variants: it sends every one still pending)",
}


def run_job_now(settings: Settings, name: str, *args: Any, **kwargs: Any) -> str:
    """Enqueue actor ``name`` now (``honeydue jobs run NAME``); without Redis, run it in this process.

    Only the periodic jobs (``honeydue jobs list``) can be run by name: the others need an argument (an email's
    or a purge's id) that only their sender knows. Returns one line saying what happened. Raises ``KeyError``
    for an unknown job, and for one of those others, saying what it needs.
    """
    periodic = sorted(job.actor_name for job in periodic_jobs(settings))
    if name in SENT_WITH_AN_ID:
        raise KeyError(f"{name} needs {SENT_WITH_AN_ID[name]}, so it is not run by hand")
    if name not in periodic:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(periodic)}")
    if settings.redis_url:
        broker = create_broker(settings)
        try:
            message = send_job(broker, name, *args, **kwargs)
        finally:
            broker.close()
        return f"enqueued {name} (message {message.message_id})"
    asyncio.run(_run_inline(settings, name, args, kwargs))
    return f"ran {name} in this process (no REDIS_URL)"


async def _run_inline(settings: Settings, name: str, args: tuple, kwargs: dict[str, Any]) -> None:
    """Run ``name`` here, then the jobs it sent (its emails, say) on an in-process worker, like ``honeydue serve``.

    Waits ``INLINE_FOLLOW_UP_WAIT_MS`` for them: a retry scheduled further out (an email whose server is down)
    is left to the email sweeper of the next ``honeydue serve`` or ``jobs run sweep_email_outbox``.
    """
    from workers.embedded import embedded_broker, run_embedded_jobs
    from workers.job_runs import recorded

    broker = embedded_broker(settings)
    assert isinstance(broker, StubBroker)  # in process: no Redis
    try:
        async with open_services(settings, broker=broker) as services, \
                run_embedded_jobs(services, run_scheduler=False):
            # Recorded like a worker's run, so admin.jobs shows this one too.
            await recorded(name, ACTORS[name][0])(*args, **kwargs)
            try:
                await asyncio.to_thread(
                    functools.partial(broker.join, QUEUE, timeout=INLINE_FOLLOW_UP_WAIT_MS, fail_fast=False))
            except QueueJoinTimeout:
                log.warning("jobs sent by %s are still waiting (retries); the email sweeper will send them", name)
    finally:
        broker.close()
