"""The scheduler process: sends the periodic table's messages, once per tick, from any number of replicas.

Design (chosen over running APScheduler's executor): every replica computes the same fire times from the
same ``CronTrigger``s (``get_next_fire_time``) and only *sends* messages, never runs jobs.

* Leadership: ``SET honeydue:scheduler:leader <token> NX PX ttl``; the leader extends it every ttl/3 with a
  compare-and-extend script and steps down as soon as an extension fails, or when its last success is
  older than the TTL minus a margin (Redis unreachable: another replica may hold the lock by now).
* Once per tick: the leader claims ``honeydue:tick:<job>:<fire time>`` with ``SET NX`` before sending. A
  new leader that takes over mid-tick finds the claim and does not send again; one that takes over after
  a tick nobody claimed (the old leader died just before it) still sends it, if it is within
  ``misfire_grace``. Followers keep a due tick pending until it is claimed or too old, so a hand-over
  does not lose it. A leader that dies between claim and send loses that one tick (the jobs are daily or
  hourly and idempotent; losing is preferred to sending twice).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import dramatiq
import redis

from honeydue.clock import utc_now
from honeydue.jobs import send_job
from workers.schedule import PeriodicJob

log = logging.getLogger(__name__)

LEADER_KEY = "honeydue:scheduler:leader"
TICK_KEY = "honeydue:tick:{job}:{fire_time}"
DEFAULT_TTL_MS = 15_000
MISFIRE_GRACE = timedelta(minutes=10)
TICK_KEY_TTL_MS = int(timedelta(days=2).total_seconds() * 1000)

EXTEND_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock(Protocol):
    ttl_ms: int

    def acquire_or_extend(self) -> bool:
        """True while this replica is the leader (acquired now, or still ours and extended)."""
        ...

    def release(self) -> None: ...


class TickLedger(Protocol):
    def claim(self, job: str, fire_time: datetime) -> bool:
        """True for the first caller only, across replicas."""
        ...

    def unclaim(self, job: str, fire_time: datetime) -> None: ...

    def is_claimed(self, job: str, fire_time: datetime) -> bool: ...


def tick_key(job: str, fire_time: datetime) -> str:
    return TICK_KEY.format(job=job, fire_time=fire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


class RedisLeaderLock:
    def __init__(self, client: redis.Redis, ttl_ms: int = DEFAULT_TTL_MS, key: str = LEADER_KEY) -> None:
        self.client = client
        self.ttl_ms = ttl_ms
        self.key = key
        self.token = secrets.token_hex(16)
        self._extend = client.register_script(EXTEND_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)
        self._held = False

    def acquire_or_extend(self) -> bool:
        if self._held:
            self._held = bool(self._extend(keys=[self.key], args=[self.token, self.ttl_ms]))
            if not self._held:
                log.warning("scheduler lost the leader lock; stepping down")
        else:
            self._held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
            if self._held:
                log.info("scheduler is the leader")
        return self._held

    def release(self) -> None:
        if self._held:
            self._release(keys=[self.key], args=[self.token])
            self._held = False


class RedisTickLedger:
    def __init__(self, client: redis.Redis, ttl_ms: int = TICK_KEY_TTL_MS) -> None:
        self.client = client
        self.ttl_ms = ttl_ms

    def claim(self, job: str, fire_time: datetime) -> bool:
        return bool(self.client.set(tick_key(job, fire_time), "1", nx=True, px=self.ttl_ms))

    def unclaim(self, job: str, fire_time: datetime) -> None:
        self.client.delete(tick_key(job, fire_time))

    def is_claimed(self, job: str, fire_time: datetime) -> bool:
        return bool(self.client.exists(tick_key(job, fire_time)))


class LocalLeaderLock:
    """The embedded mode's lock: one process, so the only contender is itself."""

    ttl_ms = DEFAULT_TTL_MS

    def acquire_or_extend(self) -> bool:
        return True

    def release(self) -> None:
        pass


class LocalTickLedger:
    def __init__(self) -> None:
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, job: str, fire_time: datetime) -> bool:
        key = tick_key(job, fire_time)
        with self._lock:
            if key in self._claimed:
                return False
            self._claimed.add(key)
            return True

    def unclaim(self, job: str, fire_time: datetime) -> None:
        with self._lock:
            self._claimed.discard(tick_key(job, fire_time))

    def is_claimed(self, job: str, fire_time: datetime) -> bool:
        with self._lock:
            return tick_key(job, fire_time) in self._claimed


Send = Callable[[PeriodicJob, datetime], object]


def broker_sender(broker: dramatiq.Broker) -> Send:
    """Send a job's message on ``broker``; ``at`` (and the ``tick`` option) name the fire time it is for."""

    def send(job: PeriodicJob, fire_time: datetime) -> None:
        tick = fire_time.astimezone(UTC).isoformat()
        send_job(broker, job.actor_name, options={"tick": tick}, at=tick)

    return send


class Scheduler:
    """One replica's loop; ``run`` until ``stop``. ``send(job, fire_time)`` enqueues and raises on failure."""

    def __init__(
        self,
        jobs: Sequence[PeriodicJob],
        send: Send,
        lock: LeaderLock,
        ledger: TickLedger,
        *,
        clock: Callable[[], datetime] = utc_now,
        misfire_grace: timedelta = MISFIRE_GRACE,
        poll_seconds: float = 1.0,
    ) -> None:
        self.jobs = list(jobs)
        self.send = send
        self.lock = lock
        self.ledger = ledger
        self.clock = clock
        self.misfire_grace = misfire_grace
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._release_on_stop = True
        self._leader_until = 0.0  # monotonic deadline of our current leadership
        self._last_lock_check = float("-inf")
        start = clock()
        self.pending: dict[str, datetime | None] = {
            job.name: job.trigger.get_next_fire_time(None, start) for job in self.jobs
        }

    @property
    def is_leader(self) -> bool:
        return time.monotonic() < self._leader_until

    def _refresh_leadership(self) -> None:
        now = time.monotonic()
        if now - self._last_lock_check < self.lock.ttl_ms / 3000:
            return
        self._last_lock_check = now
        try:
            held = self.lock.acquire_or_extend()
        except redis.RedisError as exc:
            log.warning("scheduler lock check failed: %s", exc)
            return  # keep the current deadline: it expires before the lock could be anyone else's
        # The lock lives ttl from the moment Redis applied it, which is after ``now``; stop 20% early.
        self._leader_until = now + self.lock.ttl_ms * 0.8 / 1000 if held else 0.0

    def tick(self) -> list[tuple[str, datetime]]:
        """One pass: refresh leadership, fire (or retire) due fire times; returns what this replica sent."""
        self._refresh_leadership()
        now = self.clock()
        sent: list[tuple[str, datetime]] = []
        for job in self.jobs:
            while (fire_time := self.pending[job.name]) is not None and fire_time <= now:
                if not self._handle(job, fire_time, now, sent):
                    break  # keep it pending: a leader (maybe us, later) still has to send it
                self.pending[job.name] = job.trigger.get_next_fire_time(fire_time, fire_time + timedelta(seconds=1))
        return sent

    def _handle(self, job: PeriodicJob, fire_time: datetime, now: datetime, sent: list) -> bool:
        """True when this fire time is settled (sent by someone, or given up)."""
        try:
            if self.is_leader:
                if self.ledger.claim(job.name, fire_time):
                    try:
                        self.send(job, fire_time)
                    except Exception:
                        self.ledger.unclaim(job.name, fire_time)
                        raise
                    sent.append((job.name, fire_time))
                    log.info("sent %s for %s", job.actor_name, fire_time.isoformat())
                return True
            if self.ledger.is_claimed(job.name, fire_time):
                return True
        except Exception as exc:  # Redis or the broker is down: try again next pass, within the grace
            log.warning("could not fire %s at %s: %s", job.name, fire_time.isoformat(), exc)
        if now - fire_time > self.misfire_grace:
            log.warning("missed %s at %s: no leader could send it in time", job.name, fire_time.isoformat())
            return True
        return False

    def run(self) -> None:
        log.info("scheduler started with %d jobs", len(self.jobs))
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(self.poll_seconds)
        finally:
            if self._release_on_stop:
                try:
                    self.lock.release()  # hand over at once instead of after the TTL
                except redis.RedisError:
                    pass  # the lock expires on its own
            log.info("scheduler stopped")

    def stop(self) -> None:
        self._stop.set()

    def abandon(self) -> None:
        """Stop without releasing the lock, as a crashed replica would (tests use this)."""
        self._release_on_stop = False
        self._stop.set()
