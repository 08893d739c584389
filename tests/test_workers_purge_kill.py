"""A worker SIGKILLed in the middle of a purge: a new worker finishes it (real Redis DB 12, S3 test server).

Dramatiq's RedisBroker keeps a fetched message in the worker's "acks" set until the actor returns; the dead
worker never acks, and a live worker's broker maintenance moves the messages of workers whose heartbeat is
older than ``heartbeat_timeout`` back to the queue. Production keeps Dramatiq's 60 s; the second worker
here uses 1 s and runs maintenance on every command so the test does not wait a minute.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from honeydue.jobs import send_job
from honeydue.models import AccountPurge
from honeydue.settings import Settings, load_settings
from honeydue.storage import create_storage
from honeydue.storage.base import Storage
from tests.conftest import flushed_redis
from workers.broker import create_broker

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]

REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/12")
REPO = Path(__file__).resolve().parent.parent
OBJECTS = 80
MARKER_ENV = "HONEYDUE_TEST_PURGE_MARKER"


class SlowStorage:
    """The real store, with deletes slowed down and the first one announced, so the test can kill mid-purge."""

    def __init__(self, inner: Storage, marker: Path) -> None:
        self.inner = inner
        self.marker = marker

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def delete(self, key: str) -> None:
        self.marker.touch()
        await asyncio.sleep(0.2)
        await self.inner.delete(key)


async def slow_storage_factory(settings: Settings) -> Storage:
    inner = create_storage(settings)
    await inner.start()
    return SlowStorage(inner, Path(os.environ[MARKER_ENV]))  # type: ignore[return-value]


WORKER_SCRIPT = """
import sys
from honeydue.settings import load_settings
from workers.cli import run_worker
from tests.test_workers_purge_kill import slow_storage_factory
slow = sys.argv[1] == "slow"
sys.exit(run_worker(
    load_settings(), processes=1, threads=2, metrics_port=None,
    storage_factory=slow_storage_factory if slow else None,
    heartbeat_timeout_ms=None if slow else 1000, maintenance_chance=None if slow else 1_000_000,
))
"""


def start_worker(env: dict[str, str], mode: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, mode], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_until(condition, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds} s; worker log:\n{tail(log)}")
        await asyncio.sleep(0.1)


@pytest.fixture
def worker_redis() -> Iterator[redis.Redis]:
    with flushed_redis(REDIS_URL) as client:
        yield client  # type: ignore[misc]


async def test_purge_survives_a_worker_killed_mid_purge(
    settings: Settings, s3_env: dict[str, str], worker_redis: redis.Redis, tmp_path: Path
) -> None:
    env_vars = {**s3_env, "DATABASE_URL": settings.database_url, "REDIS_URL": REDIS_URL,
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text"}
    worker_settings = load_settings(env_vars)
    marker = tmp_path / "purge-started"
    env = {**os.environ, **env_vars, MARKER_ENV: str(marker), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}

    storage = create_storage(worker_settings)
    await storage.start()
    user_id = uuid.uuid4()
    doomed = [f"users/{user_id}/profile/{i:03}.jpg" for i in range(OBJECTS)]
    bystander = f"users/{uuid.uuid4()}/profile/keep.jpg"
    await asyncio.gather(*(storage.put_bytes(key, b"\xff\xd8\xff jpeg", "image/jpeg") for key in [*doomed, bystander]))
    record = await AccountPurge.create(user_id=user_id, prefixes=[f"users/{user_id}/"], keys=[])
    broker = create_broker(worker_settings)
    send_job(broker, "purge_account", str(record.id))
    broker.close()

    async def remaining() -> set[str]:
        return {info.key async for info in storage.list(f"users/{user_id}/")}

    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    first = start_worker(env, "slow", first_log)
    try:
        async def purge_started() -> bool:
            return marker.exists()

        await wait_until(purge_started, 60, "the first worker starting the purge", first_log)
        await asyncio.sleep(0.5)
    finally:
        stop_group(first, signal.SIGKILL)  # the whole process group: Dramatiq's supervisor and its worker

    left = await remaining()
    assert 0 < len(left) < OBJECTS, "the kill was meant to land in the middle of the purge"
    assert (await AccountPurge.get(id=record.id)).done_at is None
    assert worker_redis.hlen("dramatiq:default.msgs") == 1  # fetched, never acknowledged

    second = start_worker(env, "fast", second_log)
    try:
        async def purge_done() -> bool:
            return (await AccountPurge.get(id=record.id)).done_at is not None

        await wait_until(purge_done, 60, "the second worker finishing the purge", second_log)
    finally:
        stop_group(second, signal.SIGTERM)

    assert await remaining() == set()
    assert [info.key async for info in storage.list("users/")] == [bystander]
    purge = await AccountPurge.get(id=record.id)
    assert purge.attempts == 2 and purge.last_error is None
    assert worker_redis.hlen("dramatiq:default.msgs") == 0  # acknowledged once the work was done
    await storage.close()
