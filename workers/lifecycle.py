"""How a ``honeydue worker`` process stops: every process gone within the grace period, unfinished jobs requeued.

``honeydue worker`` runs Dramatiq's supervisor and its worker processes. On SIGTERM the supervisor forwards the
signal to each worker process, which stops taking messages and waits for the jobs in hand. Two things in that
scheme kept processes alive long after a stop (two were still running 40 s after a SIGTERM, one ten minutes
later, while a job hung on a store that never answered):

* A signal sent to the process group (systemd, a terminal) reaches each worker process twice: directly, and
  forwarded by the supervisor. Dramatiq reads a second SIGTERM as "exit now" and raises ``SystemExit`` in the
  main thread, in the middle of its graceful stop; the process then waits forever at interpreter exit for the
  event loop thread (not a daemon thread) that nothing stops any more.
* The graceful stop waits up to 10 minutes for a job, and closing the database pool waits for the connection
  a hung job holds.

``GracefulStop`` fixes both inside each worker process. Repeated stop signals are taken as the one stop they
are. Jobs get ``JOB_GRACE_SECONDS`` to finish (and are acknowledged as usual); a job still running then is
requeued: its message was never acknowledged, since acknowledgement comes after completion, so moving it from
this worker's in-flight set back to the queue hands it to another worker at once instead of after the broker's
heartbeat timeout. Whatever still runs at ``HARD_STOP_SECONDS`` (a close that hangs, a stuck thread) is cut
short: in-flight messages are requeued and the process exits. Both limits fit in ``GRACE_SECONDS``, the grace
period the deployment gives (``terminationGracePeriodSeconds``, systemd's ``TimeoutStopSec``).

A job cut short runs again from the start elsewhere: the actors are idempotent. If it did finish at the last
moment, its acknowledgement removes the message and the requeued id is skipped.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

GRACE_SECONDS = 30
JOB_GRACE_SECONDS = 20
HARD_STOP_SECONDS = 25
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class GracefulStop(Middleware):
    """Bound a worker process's stop and requeue its unfinished jobs (see the module docstring)."""

    def __init__(self, hard_stop_seconds: float = HARD_STOP_SECONDS, exit: Callable[[int], Any] = os._exit) -> None:
        self.hard_stop_seconds = hard_stop_seconds
        self._exit = exit
        self._lock = threading.Lock()
        self._in_flight: dict[str, dramatiq.MessageProxy] = {}
        self._requeued: set[str] = set()
        self._worker: dramatiq.Worker | None = None
        self._stopping = threading.Event()

    # Signals: one stop, however many times it is asked for -----------------------------------------------

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        # Runs in the worker process's main thread, after Dramatiq installed its handlers and before the worker
        # (and its event loop thread) starts, so no repeated signal can interrupt the stop from here on.
        if threading.current_thread() is not threading.main_thread():
            return  # an in-process worker (tests, embedded): the host owns the signals
        for sig in STOP_SIGNALS:
            dramatiq_handler = signal.getsignal(sig)
            if callable(dramatiq_handler):
                signal.signal(sig, self._signal_handler(dramatiq_handler))

    def _signal_handler(self, dramatiq_handler: Callable[[int, Any], Any]) -> Callable[[int, Any], None]:
        def handle(signum: int, frame: Any) -> None:
            if self._stopping.is_set():
                log.info("worker process %d: already stopping (signal %d again)", os.getpid(), signum)
                return
            self.begin_stop()
            dramatiq_handler(signum, frame)  # Dramatiq's first-signal path: stop taking messages, then stop

        return handle

    def begin_stop(self) -> None:
        """Start the hard-stop clock (once): from here the process has ``hard_stop_seconds`` to be gone."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
        threading.Thread(target=self._hard_stop_after_deadline, name="honeydue-hard-stop", daemon=True).start()

    def _hard_stop_after_deadline(self) -> None:
        # A daemon thread: when the process ends first, it ends with it. Nothing cancels it earlier, because
        # a stop can hang after the worker's own shutdown too (interpreter exit waits for non-daemon threads).
        time.sleep(self.hard_stop_seconds)
        log.warning("worker process %d: still stopping after %.0f s: requeueing unfinished jobs and exiting",
                    os.getpid(), self.hard_stop_seconds)
        self.requeue_unfinished()
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # the exit must happen whatever a log handler does
                pass
        self._exit(0)

    # Jobs in hand -------------------------------------------------------------------------------------------

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._worker = worker

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        with self._lock:
            self._in_flight[message.message_id] = message

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy, *, result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._in_flight.pop(message.message_id, None)

    after_skip_message = after_process_message

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.begin_stop()  # also when the stop did not come from a signal

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Dramatiq waited JOB_GRACE_SECONDS for the worker threads; what still runs is requeued now, before the
        # resources close under it (this hook runs before the other middleware's: they run in reverse order).
        self.requeue_unfinished()

    def requeue_unfinished(self) -> list[str]:
        """Move the messages of unfinished jobs from this worker's in-flight set back to their queue."""
        with self._lock:
            pending = [m for mid, m in self._in_flight.items() if mid not in self._requeued]
            self._requeued.update(m.message_id for m in pending)
        worker = self._worker
        if not pending or worker is None:
            return []
        for message in pending:
            consumer = worker.consumers.get(message.queue_name)
            if consumer is None:
                continue
            try:
                consumer.requeue_messages([message])
                log.warning("requeued unfinished job %s (message %s)", message.actor_name, message.message_id)
            except Exception:  # the broker is gone too: its heartbeat timeout will requeue the message
                log.exception("could not requeue message %s; the broker will redeliver it after its "
                              "heartbeat timeout", message.message_id)
        return [m.message_id for m in pending]

