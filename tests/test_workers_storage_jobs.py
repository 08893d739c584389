"""Pending-upload cleanup, account purge (and its sweeper) and storage reconcile against the S3 test server,
plus the embedded mode running a purge end to end with no Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from honeydue import jobs
from honeydue.media_policy import staging_key
from honeydue.models import AccountPurge, Media, MediaPurpose, MediaStatus, User
from honeydue.services import open_services
from honeydue.settings import Settings, load_settings
from honeydue.storage import create_storage
from honeydue.storage.base import Storage, StorageError
from workers import cleanup, purge, reconcile
from workers.broker import HostLoop, current_services
from workers.embedded import embedded_broker, run_embedded_jobs


@pytest.fixture
def s3_db_settings(settings: Settings, s3_env: dict[str, str], tmp_path: Path) -> Settings:
    """The suite's database plus a fresh bucket on the S3 test server."""
    return load_settings({
        **s3_env, "DATABASE_URL": settings.database_url, "HONEYDUE_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text",
    })


@pytest.fixture
async def storage(s3_db_settings: Settings) -> AsyncIterator[Storage]:
    store = create_storage(s3_db_settings)
    await store.start()
    yield store
    await store.close()


async def keys_in(storage: Storage, prefix: str = "") -> set[str]:
    return {info.key async for info in storage.list(prefix)}


async def put(storage: Storage, *keys: str) -> None:
    for key in keys:
        await storage.put_bytes(key, b"%PDF-1.7 test", "application/pdf")


async def media_row(owner: User, key: str, status: MediaStatus, age: timedelta, now: datetime) -> Media:
    media = await Media.create(key=key, owner=owner, purpose=MediaPurpose.AVATAR, target_id=owner.id,
                               filename="a.pdf", content_type="application/pdf", size=12, status=status,
                               finalized_at=now - age if status is MediaStatus.READY else None)
    await Media.filter(id=media.id).update(created_at=now - age)
    return media


async def make_user() -> User:
    return await User.create(email=f"u-{uuid.uuid4().hex[:8]}@example.com", password_hash="x", display_name="U")


async def test_cleanup_deletes_stale_pending_and_rejected_uploads_object_first(storage: Storage) -> None:
    now = datetime.now(UTC)
    user = await make_user()
    base = f"users/{user.id}/profile"
    stale_pending = await media_row(user, f"{base}/stale.pdf", MediaStatus.PENDING, timedelta(hours=25), now)
    fresh_pending = await media_row(user, f"{base}/fresh.pdf", MediaStatus.PENDING, timedelta(hours=2), now)
    stale_rejected = await media_row(user, f"{base}/bad.pdf", MediaStatus.REJECTED, timedelta(hours=30), now)
    never_uploaded = await media_row(user, f"{base}/none.pdf", MediaStatus.PENDING, timedelta(days=3), now)
    ready = await media_row(user, f"{base}/ok.pdf", MediaStatus.READY, timedelta(days=9), now)
    await put(storage, stale_pending.key, fresh_pending.key, stale_rejected.key, ready.key)

    report = await cleanup.cleanup_pending_uploads(storage, now, timedelta(hours=24))

    assert (report.pending, report.rejected) == (2, 1)
    assert await keys_in(storage) == {fresh_pending.key, ready.key}
    assert set(await Media.all().values_list("id", flat=True)) == {fresh_pending.id, ready.id}
    assert never_uploaded.id not in await Media.all().values_list("id", flat=True)
    again = await cleanup.cleanup_pending_uploads(storage, now, timedelta(hours=24))
    assert (again.pending, again.rejected) == (0, 0)


async def test_cleanup_deletes_the_staging_object_and_the_served_one(storage: Storage) -> None:
    """An upload's bytes sit at its staging key until finalize copies them: cleanup removes both objects."""
    now = datetime.now(UTC)
    user = await make_user()
    base = f"users/{user.id}/profile"
    uploaded = await media_row(user, f"{base}/uploaded.pdf", MediaStatus.PENDING, timedelta(hours=25), now)
    half_done = await media_row(user, f"{base}/half.pdf", MediaStatus.PENDING, timedelta(hours=25), now)
    rejected = await media_row(user, f"{base}/bad.pdf", MediaStatus.REJECTED, timedelta(hours=30), now)
    fresh = await media_row(user, f"{base}/fresh.pdf", MediaStatus.PENDING, timedelta(hours=1), now)
    ready = await media_row(user, f"{base}/ok.pdf", MediaStatus.READY, timedelta(days=9), now)
    # half_done: finalize copied it, then died before marking the row; rejected: its delete failed.
    await put(storage, staging_key(uploaded.key), staging_key(half_done.key), half_done.key,
              staging_key(rejected.key), staging_key(fresh.key), ready.key)

    report = await cleanup.cleanup_pending_uploads(storage, now, timedelta(hours=24))

    assert (report.pending, report.rejected) == (2, 1)
    assert await keys_in(storage) == {staging_key(fresh.key), ready.key}


async def test_cleanup_keeps_the_row_when_the_store_is_down(storage: Storage, s3_server) -> None:
    now = datetime.now(UTC)
    user = await make_user()
    stale = await media_row(user, f"users/{user.id}/profile/x.pdf", MediaStatus.PENDING, timedelta(days=2), now)
    s3_server.stop()
    with pytest.raises(StorageError):
        await cleanup.cleanup_pending_uploads(storage, now, timedelta(hours=24))
    assert await Media.filter(id=stale.id).exists()  # the next run retries: object first, row after


async def test_reconcile_reports_and_fix_deletes_only_old_orphans(storage: Storage) -> None:
    now = datetime.now(UTC)
    user = await make_user()
    base = f"users/{user.id}/profile"
    tracked = await media_row(user, f"{base}/tracked.pdf", MediaStatus.READY, timedelta(days=2), now)
    pending = await media_row(user, f"{base}/pending.pdf", MediaStatus.PENDING, timedelta(minutes=5), now)
    lost = await media_row(user, f"{base}/lost.pdf", MediaStatus.READY, timedelta(days=2), now)
    await put(storage, tracked.key, pending.key, f"{base}/orphan.pdf", "stray/thing.bin")

    report = await reconcile.reconcile_storage(storage, now)
    assert report.objects == 4
    assert sorted(report.orphans) == sorted([f"{base}/orphan.pdf", "stray/thing.bin"])
    assert report.missing == [lost.key]
    assert report.deleted == []

    fixed_too_soon = await reconcile.reconcile_storage(storage, now, fix=True)
    assert fixed_too_soon.deleted == []  # the orphans are minutes old: maybe an upload in flight
    fixed = await reconcile.reconcile_storage(storage, now + timedelta(days=2), fix=True)
    assert sorted(fixed.deleted) == sorted([f"{base}/orphan.pdf", "stray/thing.bin"])
    assert await keys_in(storage) == {tracked.key, pending.key}


async def test_reconcile_leaves_uploads_in_progress_and_reports_stale_staging_objects(storage: Storage) -> None:
    now = datetime.now(UTC)
    user = await make_user()
    base = f"users/{user.id}/profile"
    uploading = await media_row(user, f"{base}/uploading.pdf", MediaStatus.PENDING, timedelta(minutes=5), now)
    done = await media_row(user, f"{base}/done.pdf", MediaStatus.READY, timedelta(days=2), now)
    stale = [staging_key(done.key), staging_key(f"{base}/deleted.pdf")]  # a late PUT; a row deleted since
    await put(storage, staging_key(uploading.key), done.key, *stale)

    report = await reconcile.reconcile_storage(storage, now)
    assert report.objects == 4
    assert sorted(report.orphans) == sorted(stale)  # the PENDING row's staging object is no orphan
    assert report.missing == []

    assert (await reconcile.reconcile_storage(storage, now, fix=True)).deleted == []  # too young to tell
    fixed = await reconcile.reconcile_storage(storage, now + timedelta(days=2), fix=True)
    assert sorted(fixed.deleted) == sorted(stale)
    assert await keys_in(storage) == {staging_key(uploading.key), done.key}


async def test_reconcile_streams_the_listing_and_the_rows_in_byte_order_a_page_at_a_time(storage: Storage) -> None:
    """Page size 2: the walk holds at most a page of each side, and still finds every orphan and missing object.

    The names sort differently under a locale collation ("a-b" vs "a_b" vs "aB") than in S3's byte order: the
    rows must come in the bucket's order, or present objects would be reported missing (``ready_keys`` asks for
    byte order explicitly; a test database created with a C collation would sort them so anyway).
    """
    now = datetime.now(UTC)
    user = await make_user()
    base = f"users/{user.id}/r"
    names = ["a-b.pdf", "a_b.pdf", "aB.pdf", "ab.pdf", "Z.pdf", "é.pdf", "a.pdf"]
    rows = [await media_row(user, f"{base}/{n}", MediaStatus.READY, timedelta(days=2), now) for n in names]
    lost = [await media_row(user, f"{base}/lost-{i}.pdf", MediaStatus.READY, timedelta(days=2), now)
            for i in range(3)]
    orphans = [f"{base}/orphan-{i}.pdf" for i in range(3)]
    await put(storage, *(r.key for r in rows), *orphans)

    paged = await reconcile.reconcile_storage(storage, now, page_size=2)
    whole = await reconcile.reconcile_storage(storage, now)

    assert paged.peak_held <= 2 + 1
    for report in (paged, whole):
        assert report.objects == len(names) + len(orphans)
        assert sorted(report.orphans) == sorted(orphans)
        assert sorted(report.missing) == sorted(m.key for m in lost)


async def test_purge_deletes_staging_objects_of_listed_keys_outside_the_prefixes(storage: Storage) -> None:
    task = uuid.uuid4()
    photo = f"tasks/{task}/completions/photo.jpg"
    pending = f"tasks/{task}/completions/uploading.jpg"
    await put(storage, photo, staging_key(pending), f"tasks/{uuid.uuid4()}/completions/other.jpg")
    record = await AccountPurge.create(user_id=uuid.uuid4(), prefixes=[], keys=[photo, pending])

    await purge.purge_account(record.id, storage, datetime.now(UTC))

    assert await keys_in(storage, f"tasks/{task}/") == set()
    assert len(await keys_in(storage, "tasks/")) == 1


async def test_purge_deletes_every_object_of_the_account_and_is_idempotent(storage: Storage) -> None:
    gone, stays = uuid.uuid4(), uuid.uuid4()
    home, task = uuid.uuid4(), uuid.uuid4()
    doomed = [f"users/{gone}/profile/{i}.jpg" for i in range(40)] + [
        f"residences/{home}/documents/manual.pdf", f"tasks/{task}/completions/photo.jpg"]
    kept = [f"users/{stays}/profile/me.jpg", f"residences/{uuid.uuid4()}/documents/other.pdf"]
    await put(storage, *doomed, *kept)
    record = await AccountPurge.create(user_id=gone, prefixes=[f"users/{gone}/", f"residences/{home}/"],
                                       keys=[f"tasks/{task}/completions/photo.jpg"])
    now = datetime.now(UTC)

    result = await purge.purge_account(record.id, storage, now)

    assert result.deleted >= len(doomed)
    assert await keys_in(storage) == set(kept)
    record = await AccountPurge.get(id=record.id)
    assert record.done_at is not None and record.attempts == 1 and record.last_error is None
    assert (await purge.purge_account(record.id, storage, now)).already_done


async def test_purge_records_the_error_and_stays_pending_when_the_store_fails(storage: Storage, s3_server) -> None:
    record = await AccountPurge.create(user_id=uuid.uuid4(), prefixes=["users/x/"], keys=[])
    s3_server.stop()
    with pytest.raises(StorageError):
        await purge.purge_account(record.id, storage, datetime.now(UTC))
    record = await AccountPurge.get(id=record.id)
    assert record.done_at is None and record.attempts == 1 and record.last_error


async def test_sweeper_resends_unfinished_purges_only(settings: Settings) -> None:
    now = datetime.now(UTC)
    old_pending = await AccountPurge.create(user_id=uuid.uuid4())
    old_done = await AccountPurge.create(user_id=uuid.uuid4(), done_at=now)
    just_made = await AccountPurge.create(user_id=uuid.uuid4())
    await AccountPurge.filter(id__in=[old_pending.id, old_done.id]).update(created_at=now - timedelta(hours=1))
    await AccountPurge.filter(id=just_made.id).update(created_at=now - timedelta(seconds=10))
    sent: list[str] = []
    assert await purge.sweep_account_purges(now, sent.append) == [str(old_pending.id)]
    assert sent == [str(old_pending.id)]


async def test_host_loop_is_a_real_dramatiq_loop_thread_running_on_the_callers_loop() -> None:
    """Built through Dramatiq's own constructor (an initialised, never started thread), actors' coroutines
    run on the loop that was running already: the embedded server's."""
    loop = asyncio.get_running_loop()
    host = HostLoop(loop)
    assert host.loop is loop and not host.is_alive()  # is_alive() needs Thread.__init__ to have run

    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert await asyncio.to_thread(host.run_coroutine, where()) is loop


async def test_embedded_mode_runs_a_purge_sent_through_honeydue_jobs(settings: Settings) -> None:
    """No Redis: the in-process broker and worker of ``honeydue serve`` are what the API's enqueue reaches."""
    assert settings.redis_url is None and not settings.uses_s3  # the embedded defaults: local media
    async with open_services(settings, broker=embedded_broker(settings), open_db=False) as services, \
            run_embedded_jobs(services, run_scheduler=False):
        assert current_services() is services  # the jobs share the server's services: one storage client
        storage = services.storage
        user_id = uuid.uuid4()
        await put(storage, *(f"users/{user_id}/profile/{i}.jpg" for i in range(5)), "users/other/profile/a.jpg")
        record = await AccountPurge.create(user_id=user_id, prefixes=[f"users/{user_id}/"], keys=[])
        assert jobs.enqueue("purge_account", str(record.id))
        for _ in range(200):
            if (await AccountPurge.get(id=record.id)).done_at is not None:
                break
            await asyncio.sleep(0.05)
        assert (await AccountPurge.get(id=record.id)).done_at is not None
        assert await keys_in(storage, "users/") == {"users/other/profile/a.jpg"}
        assert services.broker is not None and "purge_account" in services.broker.actors
