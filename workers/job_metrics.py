"""A Dramatiq middleware that counts job runs in ``honeydue_jobs_total`` / ``honeydue_job_duration_seconds``.

Add ``JobMetrics()`` to a worker broker (``workers.cli.worker_broker`` does with ``--metrics-port``).

Why this module imports ``honeydue.metrics`` (and so ``prometheus_client``) only inside the hooks: the library
chooses between in-memory and multiprocess values when first imported, and ``run_worker`` sets
``PROMETHEUS_MULTIPROC_DIR`` for the worker processes it forks. Importing it earlier, in the parent process the
workers are forked from, would keep every process's counts in its own memory, invisible to ``/metrics``.
Each failed attempt of a retried job counts as ``failed``; the retry that succeeds as ``ok``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)


class JobMetrics(Middleware):
    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        from prometheus_client import values

        import honeydue.metrics  # noqa: F401  (creates the metrics now, after any multiprocess set-up)

        multiprocess = getattr(values.ValueClass, "_multiprocess", False)
        if not multiprocess and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            log.warning("job metrics stay in this process: prometheus_client was imported before "
                        "PROMETHEUS_MULTIPROC_DIR was set")

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy, *, result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._record(message, "ok" if exception is None else "failed")

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._record(message, "skipped")

    def _record(self, message: dramatiq.MessageProxy, outcome: str) -> None:
        from honeydue.metrics import record_job

        started = self._started.pop(message.message_id, None)
        seconds = time.perf_counter() - started if started is not None else 0.0
        record_job(message.actor_name, outcome, seconds)

