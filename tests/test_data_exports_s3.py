"""Data exports on the S3 test server: the streaming multipart writer, and 200 MB exported by a real worker
process (Redis, PostgreSQL or SQLite, S3) whose peak memory is measured while it streams.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dramatiq
import psutil
import pytest
import redis

from honeydue.models import DataExport, DataExportStatus, Media, MediaPurpose, MediaStatus
from honeydue.settings import Settings, load_settings
from honeydue.storage import create_storage
from honeydue.storage.base import ObjectNotFound, Storage
from honeydue.storage.s3 import WRITER_PART_SIZE, S3Storage
from tests.conftest import GraphQLClient, flushed_redis
from tests.plugins.domain import Actor, make_actor
from tests.s3server import S3TestServer
from workers.broker import create_broker

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/12")
REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
FILES, FILE_SIZE = 20, 10 * MiB  # 200 MiB of media
# Peak RSS growth allowed while exporting them: well below the data's size (the job holds one upload part,
# 8 MiB, and read chunks of 128 KiB; the rest is the interpreter's own churn).
RSS_GROWTH_LIMIT = 64 * MiB

REQUEST = "mutation { requestDataExport { dataExport { id status } userErrors { code message } } }"

WORKER_SCRIPT = """
import sys
from honeydue.settings import load_settings
from workers.cli import run_worker
sys.exit(run_worker(load_settings(), processes=1, threads=1, metrics_port=None))
"""


@pytest.fixture
async def s3_storage(s3_settings: Settings) -> AsyncIterator[S3Storage]:
    storage = create_storage(s3_settings)
    await storage.start()
    assert isinstance(storage, S3Storage)
    yield storage
    await storage.close()


def open_uploads(server: S3TestServer, bucket: str) -> list[dict]:
    return server.boto3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


async def test_a_large_write_goes_up_in_parts_and_appears_whole(s3_storage: S3Storage, s3_server) -> None:
    body = os.urandom(2 * WRITER_PART_SIZE + 12345)
    writer = s3_storage.open_writer("exports/u/big.zip", "application/zip")
    for start in range(0, len(body), 100_000):
        await writer.write(body[start:start + 100_000])
    assert open_uploads(s3_server, s3_storage.bucket)  # parts are up, the object is not there yet
    with pytest.raises(ObjectNotFound):
        await s3_storage.head("exports/u/big.zip")
    info = await writer.commit()
    assert info.size == len(body) and info.content_type == "application/zip"
    stream = await s3_storage.open("exports/u/big.zip")
    try:
        assert b"".join([c async for c in stream.chunks]) == body
    finally:
        await stream.aclose()
    assert open_uploads(s3_server, s3_storage.bucket) == []


async def test_a_small_write_is_one_put_and_an_aborted_one_leaves_nothing(s3_storage: S3Storage,
                                                                          s3_server) -> None:
    small = s3_storage.open_writer("exports/u/small.zip", "application/zip")
    await small.write(b"PK small")
    assert (await small.commit()).size == 8

    aborted = s3_storage.open_writer("exports/u/aborted.zip", "application/zip")
    await aborted.write(os.urandom(WRITER_PART_SIZE + 1))
    await aborted.abort()
    assert open_uploads(s3_server, s3_storage.bucket) == []
    with pytest.raises(ObjectNotFound):
        await s3_storage.head("exports/u/aborted.zip")


# --- 200 MB through a real worker --------------------------------------------------------------------------


@pytest.fixture
def worker_redis() -> Iterator[redis.Redis]:
    with flushed_redis(REDIS_URL) as client:
        yield client  # type: ignore[misc]


def peak_rss(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in bytes: no sample can miss the peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def worker_process(supervisor: subprocess.Popen, log: Path) -> psutil.Process:
    """The Dramatiq worker process (the one that runs the actors) under ``honeydue worker``'s supervisor."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = psutil.Process(supervisor.pid).children(recursive=True)
        if len(children) == 1:  # processes=1 and no metrics port: the one worker process
            return children[0]
        if supervisor.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"the worker did not start:\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], cwd=REPO, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


async def seed_files(storage: Storage, actor: Actor, count: int, size: int) -> dict[str, str]:
    """``count`` READY JPEG photos of ``size`` bytes of the actor's, put straight into the store.

    Returns the SHA-256 of each by media id.
    """
    digests: dict[str, str] = {}
    for index in range(count):
        body = b"\xff\xd8\xff\xe0" + os.urandom(size - 4)
        key = f"users/{actor.id}/profile/{uuid.uuid4()}.jpg"
        await storage.put_bytes(key, body, "image/jpeg")
        media = await Media.create(key=key, owner=actor.user, purpose=MediaPurpose.AVATAR, filename=f"p{index}.jpg",
                                   content_type="image/jpeg", size=size, status=MediaStatus.READY,
                                   finalized_at=datetime.now(UTC))
        digests[str(media.id)] = hashlib.sha256(body).hexdigest()
    return digests


async def export_through_the_worker(api: GraphQLClient, actor: Actor, seconds: float, log: Path) -> DataExport:
    result = await api.execute(REQUEST, token=actor.token)
    payload = result["data"]["requestDataExport"]
    assert payload["userErrors"] == [], payload
    export_id = payload["dataExport"]["id"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        export = await DataExport.get(id=export_id)
        if export.status != DataExportStatus.PENDING:
            assert export.status == DataExportStatus.READY, export.last_error
            return export
        await asyncio.sleep(0.25)
    pytest.fail(f"export not READY within {seconds} s:\n{tail(log)}")


async def test_a_200_mb_export_streams_through_a_worker_in_bounded_memory(
    api: GraphQLClient, settings: Settings, s3_env: dict[str, str], worker_redis: redis.Redis, tmp_path: Path
) -> None:
    env_vars = {**s3_env, "DATABASE_URL": settings.database_url, "REDIS_URL": REDIS_URL,
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text",
                "PUBLIC_GATEWAY_URL": "http://testserver"}
    worker_settings = load_settings(env_vars)
    storage = create_storage(worker_settings)
    await storage.start()
    warm_up, owner = await make_actor("warm"), await make_actor("owner")
    await seed_files(storage, warm_up, 2, FILE_SIZE)
    digests = await seed_files(storage, owner, FILES, FILE_SIZE)

    # The API's requestDataExport sends the build through Redis to the worker process.
    previous = dramatiq.get_broker()
    broker = create_broker(worker_settings)
    dramatiq.set_broker(broker)
    log = tmp_path / "worker.log"
    env = {**os.environ, **env_vars, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    supervisor = start_worker(env, log)
    try:
        worker = worker_process(supervisor, log)
        # A small export first, so what is measured is the export's streaming, not first-use imports.
        await export_through_the_worker(api, warm_up, 120, log)
        before = peak_rss(worker.pid)
        export = await export_through_the_worker(api, owner, 600, log)
        growth = peak_rss(worker.pid) - before
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait()
        broker.close()
        dramatiq.set_broker(previous)

    assert export.size_bytes is not None and export.size_bytes > FILES * FILE_SIZE
    assert growth < RSS_GROWTH_LIMIT, f"peak RSS grew {growth / MiB:.1f} MiB exporting {FILES * FILE_SIZE // MiB} MiB"

    # The zip in the bucket: every file byte for byte, where data.json says.
    media = await Media.get(id=export.media_id)
    with tempfile.TemporaryFile() as copy:
        stream = await storage.open(media.key)
        try:
            async for chunk in stream.chunks:
                copy.write(chunk)
        finally:
            await stream.aclose()
        copy.seek(0)
        archive = zipfile.ZipFile(copy)
        data = json.loads(archive.read("data.json"))
        paths = {entry["id"]: entry["path"] for entry in data["files"]}
        assert set(paths) == set(digests)
        for media_id, digest in digests.items():
            entry_hash = hashlib.sha256()
            with archive.open(paths[media_id]) as entry:
                for block in iter(lambda: entry.read(MiB), b""):
                    entry_hash.update(block)
            assert entry_hash.hexdigest() == digest
        assert {e["sha256"] for e in data["files"]} == set(digests.values())
    await storage.close()
