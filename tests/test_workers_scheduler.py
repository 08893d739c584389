"""Two scheduler replicas against real Redis (DB 11): every tick is sent once, and when the leader dies
the other replica takes over without losing or repeating a tick."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
import redis
from apscheduler.triggers.cron import CronTrigger
from dramatiq.brokers.redis import RedisBroker

from honeydue.settings import load_settings
from tests.conftest import FrozenClock, flushed_redis
from workers.cli import list_jobs
from workers.schedule import PeriodicJob, periodic_jobs
from workers.scheduler import (
    LocalLeaderLock,
    LocalTickLedger,
    RedisLeaderLock,
    RedisTickLedger,
    Scheduler,
    tick_key,
)

REDIS_URL = os.environ.get("TEST_SCHEDULER_REDIS_URL", "redis://127.0.0.1:6379/11")
TTL_MS = 2_000
EVERY_SECOND = PeriodicJob("heartbeat", "heartbeat_actor", "every second",
                           CronTrigger(second="*", timezone=UTC), "test job")



@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    with flushed_redis(REDIS_URL) as client:
        yield client  # type: ignore[misc]


class Replica:
    """One scheduler replica in a thread, with its own Redis connections and its own broker."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(REDIS_URL)
        self.broker = RedisBroker(url=REDIS_URL)
        self.broker.declare_queue("default")

        self.sent: list[datetime] = []  # the fire times this replica sent, in order

        def send(job: PeriodicJob, fire_time: datetime) -> None:
            self.broker.enqueue(dramatiq.Message(queue_name="default", actor_name=job.actor_name, args=(),
                                                 kwargs={}, options={"tick": fire_time.isoformat()}))
            self.sent.append(fire_time)

        self.scheduler = Scheduler([EVERY_SECOND], send, RedisLeaderLock(self.client, ttl_ms=TTL_MS),
                                   RedisTickLedger(self.client), poll_seconds=0.05)
        self.first_due = self.scheduler.pending["heartbeat"]
        self.thread = threading.Thread(target=self.scheduler.run, daemon=True)

    def close(self) -> None:
        self.scheduler.stop()
        self.thread.join(WAIT)
        self.broker.close()
        self.client.close()


def sent_ticks(client: redis.Redis) -> Counter[str]:
    """The ``tick`` option of every message in the queue, counted."""
    messages = client.hgetall("dramatiq:default.msgs").values()
    return Counter(dramatiq.Message.decode(m).options["tick"] for m in messages)


# How long to wait for something that should happen within a few seconds. Only a bound on a hung test, never
# an assertion on speed: on a loaded machine threads may be starved for a while and the test must still pass.
WAIT = 60.0


def wait_for(condition, timeout: float = WAIT):
    """The first truthy ``condition()``; fails the test after ``timeout`` seconds."""
    start = time.monotonic()
    while not (result := condition()):
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)
    return result


@pytest.mark.redis
def test_two_replicas_send_each_tick_once_and_hand_over(redis_db: redis.Redis) -> None:
    """Events only, no timings: whoever leads and however late the threads run, no tick goes twice or is lost."""
    replicas = [Replica(), Replica()]
    for replica in replicas:
        replica.thread.start()
    try:
        wait_for(lambda: len(sent_ticks(redis_db)) >= 3)
        # Leadership may move on its own when a starved thread misses its extension: take whoever leads now.
        leader = wait_for(lambda: next((r for r in replicas if r.scheduler.is_leader), None))
        follower = next(r for r in replicas if r is not leader)

        leader.scheduler.abandon()  # dies holding the lock: no release, the TTL must run out
        leader.thread.join(WAIT)
        assert not leader.thread.is_alive()
        sent_before = max(leader.sent + follower.sent)  # leadership may have moved before, so from either
        # The hand-over: the other replica becomes leader and goes on sending the ticks after the dead one's.
        wait_for(lambda: follower.scheduler.is_leader)
        wait_for(lambda: sum(t > sent_before for t in follower.sent) >= 2)
    finally:
        for replica in replicas:
            replica.close()

    ticks = sent_ticks(redis_db)
    assert set(ticks.values()) == {1}, ticks  # never twice
    fire_times = sorted(datetime.fromisoformat(t) for t in ticks)
    assert sorted(leader.sent + follower.sent) == fire_times  # every message is one replica's single send
    assert fire_times[0] in {r.first_due for r in replicas}  # none skipped at the start
    # No gap: the ticks due while nobody held the lock were sent by the new leader.
    expected = [fire_times[0] + timedelta(seconds=i) for i in range(len(fire_times))]
    assert fire_times == expected
    for fire_time in fire_times:
        assert redis_db.exists(tick_key("heartbeat", fire_time))


def test_follower_skips_ticks_the_leader_claimed_and_gives_up_after_the_grace() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    clock = [now]
    sent: list[datetime] = []
    ledger = LocalTickLedger()

    class NoLock(LocalLeaderLock):
        def acquire_or_extend(self) -> bool:
            return False

    follower = Scheduler([EVERY_SECOND], lambda job, at: sent.append(at), NoLock(), ledger,
                         clock=lambda: clock[0], misfire_grace=timedelta(seconds=5))
    first = follower.pending["heartbeat"]
    assert first == datetime(2025, 1, 1, 12, 0, 1, tzinfo=UTC)
    ledger.claim("heartbeat", first)  # the leader sent it
    clock[0] = now + timedelta(seconds=2)
    follower.tick()
    assert follower.pending["heartbeat"] == first + timedelta(seconds=1)  # claimed one retired, next waits
    clock[0] = now + timedelta(seconds=30)
    follower.tick()
    assert sent == []
    assert follower.pending["heartbeat"] > clock[0] - timedelta(seconds=6)  # old unclaimed ticks given up


def test_a_failed_send_is_retried_on_the_next_pass() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    clock = [now + timedelta(seconds=1)]
    attempts: list[datetime] = []

    def flaky_send(job: PeriodicJob, at: datetime) -> None:
        attempts.append(at)
        if len(attempts) == 1:
            raise ConnectionError("broker down")

    scheduler = Scheduler([EVERY_SECOND], flaky_send, LocalLeaderLock(), LocalTickLedger(),
                          clock=lambda: clock[0])
    scheduler.pending["heartbeat"] = datetime(2025, 1, 1, 12, 0, 1, tzinfo=UTC)
    assert scheduler.tick() == []
    sent = scheduler.tick()
    assert [at for _, at in sent] == [datetime(2025, 1, 1, 12, 0, 1, tzinfo=UTC)]
    assert len(attempts) == 2


def test_periodic_table_and_jobs_list(tmp_path) -> None:
    settings = load_settings({"HONEYDUE_VAR_DIR": str(tmp_path), "REMINDER_CRON": "30 18 * * *"})
    jobs = {job.name: job for job in periodic_jobs(settings)}
    assert set(jobs) == {"send_due_reminders", "send_overdue_reminders", "send_warranty_reminders",
                         "cleanup_pending_uploads", "expire_idempotency_keys", "expire_generated_files",
                         "sweep_account_purges", "expire_action_tokens", "expire_account_tokens",
                         "reconcile_storage", "sweep_email_outbox", "send_onboarding_emails", "sweep_data_exports",
                         "backup_storage", "sweep_notification_deliveries", "sweep_media_variants"}
    after = datetime(2025, 3, 10, 19, 0, tzinfo=UTC)
    assert jobs["send_due_reminders"].trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 11, 18, 30, tzinfo=UTC)
    assert jobs["cleanup_pending_uploads"].trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 10, 19, 7, tzinfo=UTC)
    assert jobs["sweep_account_purges"].trigger.get_next_fire_time(None, after + timedelta(minutes=1)) == (
        after + timedelta(minutes=10))
    assert jobs["send_onboarding_emails"].trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 11, 16, 0, tzinfo=UTC)  # daily
    assert jobs["expire_generated_files"].trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 10, 19, 27, tzinfo=UTC)  # hourly
    assert jobs["sweep_data_exports"].trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 10, 19, 5, tzinfo=UTC)  # every 10 minutes
    listed = dict(list_jobs(settings))
    assert listed["send_due_reminders"].startswith("30 18 * * * (UTC)")
    assert listed["expire_generated_files"].startswith("27 * * * * (UTC): delete generated files")
    assert listed["send_onboarding_emails"].startswith("0 16 * * * (UTC): welcome")


def test_scheduled_messages_carry_their_fire_time_for_the_actor(frozen_now: FrozenClock) -> None:
    """A reminder message processed late (backlog, worker outage) still serves the hour it was sent for."""
    from dramatiq.brokers.stub import StubBroker

    from workers.actors import run_instant
    from workers.scheduler import broker_sender

    broker = StubBroker()
    broker.declare_queue("default")
    job = periodic_jobs(load_settings({}))[0]
    fire = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)
    broker_sender(broker)(job, fire)
    message = dramatiq.Message.decode(broker.queues["default"].get_nowait())
    assert message.actor_name == "send_due_reminders" and message.kwargs == {"at": fire.isoformat()}
    assert run_instant(message.kwargs["at"]) == fire
    assert run_instant(None) == frozen_now.now  # `honeydue jobs run`: no fire time, so now
