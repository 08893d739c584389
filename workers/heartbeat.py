"""The liveness of a ``honeydue worker``: a heartbeat file per worker process, and the check that reads them.

A worker process can hang while its supervisor and the metrics server answer as if nothing were wrong (a
SIGSTOPped worker's ``/metrics`` still answered 200). So the consuming process itself proves it is alive:
every ``interval`` seconds a thread of it checks that its consumer and worker threads run and that its event
loop (where the async jobs run) answers, and only then touches ``<directory>/<pid>``. ``heartbeat_problems``
fails the liveness probe (``/healthz`` on the worker's metrics port) when fewer processes than configured beat
within ``max_age`` seconds.

A long job does not stop the heartbeat: jobs run on the event loop without blocking it. A job that blocks the
loop does, and a restart is then the right cure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 5.0
HEARTBEAT_MAX_AGE_SECONDS = 60.0


class Heartbeat(Middleware):
    """Touch ``<directory>/<pid>`` every ``interval`` seconds while this worker process is healthy."""

    def __init__(self, directory: Path, interval: float = HEARTBEAT_INTERVAL_SECONDS) -> None:
        self.directory = directory
        self.interval = interval
        self._stop = threading.Event()
        self._path: Path | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._path = self.directory / str(os.getpid())
        self._beat(worker)
        threading.Thread(target=self._run, args=(worker,), name="honeydue-heartbeat", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def _run(self, worker: dramatiq.Worker) -> None:
        while not self._stop.wait(self.interval):
            self._beat(worker)

    def _beat(self, worker: dramatiq.Worker) -> None:
        problem = self._problem(worker)
        if problem is not None:
            log.warning("worker process %d: no heartbeat: %s", os.getpid(), problem)
            return
        assert self._path is not None
        self._path.touch()
        os.utime(self._path)  # touch() keeps the old time on some filesystems when the file exists

    def _problem(self, worker: dramatiq.Worker) -> str | None:
        stopped = [t.name for t in (*worker.consumers.values(), *worker.workers) if not t.is_alive()]
        if stopped:
            return f"threads no longer running: {', '.join(stopped)}"
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            answered = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop_thread.loop)
            try:
                answered.result(timeout=self.interval)
            except TimeoutError:
                answered.cancel()
                return f"the event loop did not answer within {self.interval:g} s"
        return None


def heartbeat_problems(directory: Path, processes: int, max_age: float = HEARTBEAT_MAX_AGE_SECONDS,
                       now: float | None = None) -> list[str]:
    """Why the worker is not alive, one line each; empty when ``processes`` processes beat within ``max_age``."""
    now = time.time() if now is None else now
    ages: dict[str, float] = {}
    for path in directory.glob("*") if directory.is_dir() else ():
        try:
            ages[path.name] = now - path.stat().st_mtime
        except FileNotFoundError:  # a process stopping removed it meanwhile
            continue
    problems = [f"worker process {pid}: last heartbeat {age:.0f} s ago" for pid, age in sorted(ages.items())
                if age > max_age]
    fresh = sum(1 for age in ages.values() if age <= max_age)
    if fresh < processes:
        problems.append(f"{fresh} of {processes} worker processes beat within the last {max_age:g} s")
    return problems
