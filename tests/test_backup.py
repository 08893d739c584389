"""The backup bucket: the ``backup_storage`` job, retention of deleted objects, purge, restore and verify-backup,
against two buckets on the S3 test server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from honeydue.models import AccountPurge, BackupTombstone, Media, MediaPurpose, MediaStatus, Residence, Task, User
from honeydue.services import open_services
from honeydue.settings import Settings, load_settings
from honeydue.storage import create_storage
from honeydue.storage.base import Storage
from honeydue.storage.s3 import WRITER_PART_SIZE, S3Storage
from honeydue.storage.walk import ListingOrderError, SortedMerge
from tests.plugins.domain import make_actor, make_world
from tests.s3server import S3TestServer
from workers import backup as backup_job
from workers import purge, restore

RETENTION = timedelta(days=30)


@pytest.fixture
def backup_settings(settings: Settings, s3_env: dict[str, str], backup_env: dict[str, str], tmp_path: Path) -> Settings:
    """The suite's database, a fresh primary bucket and a fresh backup bucket on the S3 test server."""
    return load_settings({
        **s3_env, **backup_env, "DATABASE_URL": settings.database_url, "HONEYDUE_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text",
    })


@pytest.fixture
async def primary(backup_settings: Settings) -> AsyncIterator[Storage]:
    store = create_storage(backup_settings)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def backup(backup_settings: Settings) -> AsyncIterator[S3Storage]:
    store = S3Storage.backup_from_settings(backup_settings)
    await store.start()
    yield store
    await store.close()


async def keys_in(storage: Storage, prefix: str = "") -> set[str]:
    return {info.key async for info in storage.list(prefix)}


async def read(storage: Storage, key: str) -> bytes:
    stream = await storage.open(key)
    try:
        return b"".join([chunk async for chunk in stream.chunks])
    finally:
        await stream.aclose()


async def run(primary: Storage, backup: S3Storage, now: datetime, **kwargs: object) -> backup_job.BackupReport:
    return await backup_job.backup_storage(primary, backup, now, retention=RETENTION, **kwargs)  # type: ignore[arg-type]


async def test_backup_copies_new_objects_once_and_recopies_a_changed_one(primary: Storage, backup: S3Storage) -> None:
    now = datetime.now(UTC)
    for name in ("a", "b", "c"):
        await primary.put_bytes(f"users/u1/{name}.pdf", f"%PDF {name}".encode(), "application/pdf")

    first = await run(primary, backup, now)
    assert (first.copied.count, first.unchanged) == (3, 0)
    assert await keys_in(backup) == {"users/u1/a.pdf", "users/u1/b.pdf", "users/u1/c.pdf"}
    assert await read(backup, "users/u1/b.pdf") == b"%PDF b"
    assert (await backup.head("users/u1/b.pdf")).content_type == "application/pdf"

    second = await run(primary, backup, now)
    assert (second.copied.count, second.unchanged) == (0, 3)

    await primary.put_bytes("users/u1/b.pdf", b"%PDF b, edited", "application/pdf")
    third = await run(primary, backup, now)
    assert third.copied.sample == ["users/u1/b.pdf"]
    assert await read(backup, "users/u1/b.pdf") == b"%PDF b, edited"


async def test_staging_objects_are_not_backed_up(primary: Storage, backup: S3Storage) -> None:
    await primary.put_bytes("users/u1/a.jpg", b"\xff\xd8\xff done", "image/jpeg")
    await primary.put_bytes("users/u1/b.jpg.upload", b"\xff\xd8\xff uploading", "image/jpeg")

    report = await run(primary, backup, datetime.now(UTC))

    assert (report.copied.count, report.staging_skipped) == (1, 1)
    assert await keys_in(backup) == {"users/u1/a.jpg"}


async def test_a_multipart_copy_is_streamed_and_not_copied_again(primary: Storage, backup: S3Storage) -> None:
    """Larger than one part: the copy goes up in parts, and its own ETag differs from the primary's."""
    body = bytes(range(256)) * ((WRITER_PART_SIZE + 300_000) // 256)
    await primary.put_bytes("users/u1/big.pdf", body, "application/pdf")

    first = await run(primary, backup, datetime.now(UTC))
    copy = await backup.head("users/u1/big.pdf")
    assert first.copied.count == 1 and copy.size == len(body)
    assert "-" in copy.etag  # multipart
    assert hashlib.md5(await read(backup, "users/u1/big.pdf")).hexdigest() == hashlib.md5(body).hexdigest()

    second = await run(primary, backup, datetime.now(UTC))
    assert (second.copied.count, second.unchanged) == (0, 1)


async def test_a_deleted_object_stays_in_the_backup_for_the_retention(primary: Storage, backup: S3Storage) -> None:
    now = datetime.now(UTC)
    await primary.put_bytes("users/u1/gone.pdf", b"%PDF gone", "application/pdf")
    await primary.put_bytes("users/u1/kept.pdf", b"%PDF kept", "application/pdf")
    await run(primary, backup, now)
    await primary.delete("users/u1/gone.pdf")

    seen = await run(primary, backup, now + timedelta(hours=1))
    assert seen.retained.sample == ["users/u1/gone.pdf"]
    tombstone = await BackupTombstone.get(key="users/u1/gone.pdf")
    assert tombstone.missing_since == now + timedelta(hours=1)

    later = await run(primary, backup, now + timedelta(days=30))  # 29 days and 23 hours missing
    assert (later.retained.count, later.expired.count) == (1, 0)
    assert await keys_in(backup) == {"users/u1/gone.pdf", "users/u1/kept.pdf"}

    expired = await run(primary, backup, now + timedelta(days=30, hours=1))
    assert expired.expired.sample == ["users/u1/gone.pdf"]
    assert await keys_in(backup) == {"users/u1/kept.pdf"}
    assert not await BackupTombstone.exists(key="users/u1/gone.pdf")


async def test_a_key_back_in_the_primary_loses_its_tombstone(primary: Storage, backup: S3Storage) -> None:
    now = datetime.now(UTC)
    await primary.put_bytes("users/u1/a.pdf", b"%PDF a", "application/pdf")
    await run(primary, backup, now)
    await primary.delete("users/u1/a.pdf")
    await run(primary, backup, now)
    assert await BackupTombstone.exists(key="users/u1/a.pdf")

    await primary.put_bytes("users/u1/a.pdf", b"%PDF a", "application/pdf")
    await run(primary, backup, now + timedelta(days=29))
    assert not await BackupTombstone.exists(key="users/u1/a.pdf")
    report = await run(primary, backup, now + timedelta(days=60))
    assert report.expired.count == 0 and await keys_in(backup) == {"users/u1/a.pdf"}


async def test_the_walk_holds_one_page_of_each_listing(
    primary: Storage, backup: S3Storage, s3_server: S3TestServer
) -> None:
    """Page size 2 over 7 objects: the walk never holds more than a page (+1), and lists page by page."""
    for i in range(7):
        await primary.put_bytes(f"users/u1/{i}.pdf", f"%PDF {i}".encode(), "application/pdf")
    s3_server.clear_requests()

    report = await run(primary, backup, datetime.now(UTC), page_size=2)

    assert report.copied.count == 7
    assert report.peak_held <= 2 + 1
    listings = [r for r in s3_server.requests if r.method == "GET" and "list-type=2" in r.query]
    assert len(listings) >= 4 + 1  # 7 keys in pages of 2 from the primary, one empty page from the backup
    assert all("max-keys=2" in r.query for r in listings)


@dataclass(frozen=True)
class Item:
    key: str


async def items(*keys: str) -> AsyncIterator[Item]:
    for key in keys:
        yield Item(key)


async def test_sorted_merge_pairs_keys_and_refuses_an_unordered_listing() -> None:
    walk = SortedMerge(items("a", "c", "d"), items("b", "c", "e"), page_size=2)
    pairs = [(p.key, p.left is not None, p.right is not None) async for p in walk]
    assert pairs == [("a", True, False), ("b", False, True), ("c", True, True), ("d", True, False),
                     ("e", False, True)]
    assert walk.peak_held == 2

    with pytest.raises(ListingOrderError):
        [p async for p in SortedMerge(items("b", "a"), items(), page_size=5)]


async def test_purge_deletes_the_users_objects_from_the_backup_at_once(
    primary: Storage, backup: S3Storage
) -> None:
    user_id, other = uuid.uuid4(), uuid.uuid4()
    keys = [f"users/{user_id}/profile/a.jpg", f"users/{user_id}/profile/b.pdf", f"tasks/{uuid.uuid4()}/p.jpg",
            f"users/{other}/profile/c.jpg"]
    for key in keys:
        await primary.put_bytes(key, b"\xff\xd8\xff", "image/jpeg")
    now = datetime.now(UTC)
    await run(primary, backup, now)
    await primary.delete(keys[1])
    await run(primary, backup, now)  # b.pdf is now retained in the backup, with a tombstone
    record = await AccountPurge.create(user_id=user_id, prefixes=[f"users/{user_id}/"], keys=[keys[2]])

    result = await purge.purge_account(record.id, primary, now, backup=backup)

    assert await keys_in(backup) == {keys[3]}
    assert await keys_in(primary) == {keys[3]}
    assert result.deleted_from_backup >= 3
    assert not await BackupTombstone.exists(key=keys[1])


async def test_services_carry_the_backup_only_when_configured(backup_settings: Settings, settings: Settings) -> None:
    async with open_services(backup_settings, open_db=False) as services:
        assert isinstance(services.backup, S3Storage)
        assert services.backup.bucket == backup_settings.backup_bucket_name
        await services.backup.put_bytes("probe", b"x", "text/plain")
        assert await keys_in(services.backup) == {"probe"}
    async with open_services(settings, open_db=False) as services:
        assert services.backup is None



# Restore and verify ---------------------------------------------------------------------------------------


async def media(owner: User, key: str, status: MediaStatus, *, residence: Residence | None = None,
                published: bool = True, reason: str | None = None) -> Media:
    return await Media.create(
        key=key, owner=owner, purpose=MediaPurpose.COMPLETION_PHOTO, target_id=owner.id, residence=residence,
        filename="p.jpg", content_type="image/jpeg", size=1, status=status, reject_reason=reason,
        finalized_at=datetime.now(UTC) if published else None)


async def test_restore_key_brings_the_bytes_back_and_serves_the_ready_row_again(
    primary: Storage, backup: S3Storage
) -> None:
    owner = await make_actor("owner")
    key = f"users/{owner.id}/profile/a.jpg"
    row = await media(owner.user, key, MediaStatus.READY)
    await primary.put_bytes(key, b"\xff\xd8\xff avatar", "image/jpeg")
    now = datetime.now(UTC)
    await run(primary, backup, now)
    await primary.delete(key)  # the object vanished behind a READY row
    await run(primary, backup, now)

    report = await restore.restore_key(primary, backup, key)

    assert report.restored.sample == [key] and report.rows_revived == 1
    assert await read(primary, key) == b"\xff\xd8\xff avatar"
    restored = await primary.head(key)
    assert restored.content_type == "image/jpeg"
    await row.refresh_from_db()
    assert (row.status, row.etag, row.size) == (MediaStatus.READY, restored.etag, restored.size)
    assert not await BackupTombstone.exists(key=key)
    again = await restore.restore_key(primary, backup, key)
    assert (again.restored.count, again.already_present) == (0, 1)
    assert (await restore.restore_key(primary, backup, "users/nobody/x.jpg")).not_in_backup.count == 1


async def test_restore_residence_brings_back_its_objects_its_tasks_photos_and_discarded_rows(
    primary: Storage, backup: S3Storage
) -> None:
    world = await make_world()
    owner, home = world.owner.user, world.residence
    task = await Task.create(residence=home, title="Filter")
    other_task = await Task.create(residence=(await make_world()).residence, title="Other")
    photo = f"residences/{home.id}/photo/h.jpg"
    task_photo = f"tasks/{task.id}/completions/c.jpg"
    discarded_doc = f"residences/{home.id}/documents/d.pdf"
    never_published = f"residences/{home.id}/documents/bad.pdf"
    elsewhere = f"tasks/{other_task.id}/completions/o.jpg"
    for key in (photo, task_photo, discarded_doc, never_published, elsewhere):
        await primary.put_bytes(key, f"bytes of {key}".encode(), "image/jpeg")
    await run(primary, backup, datetime.now(UTC))
    rows = {
        "photo": await media(owner, photo, MediaStatus.READY, residence=home),
        "discarded": await media(owner, discarded_doc, MediaStatus.REJECTED, residence=home,
                                 reason="Removed from its document."),
        "rejected": await media(owner, never_published, MediaStatus.REJECTED, residence=home, published=False,
                                reason="not a PDF"),
    }
    for key in (photo, task_photo, discarded_doc, never_published, elsewhere):
        await primary.delete(key)

    report = await restore.restore_prefixes(primary, backup, *await restore.residence_scope(home.id))

    assert report.restored.count == 4
    assert await keys_in(primary) == {photo, task_photo, discarded_doc, never_published}
    assert await read(primary, task_photo) == f"bytes of {task_photo}".encode()
    statuses = {name: (await Media.get(id=row.id)).status for name, row in rows.items()}
    assert statuses == {"photo": MediaStatus.READY, "discarded": MediaStatus.READY,
                        "rejected": MediaStatus.REJECTED}
    assert (await Media.get(id=rows["discarded"].id)).reject_reason is None


async def test_restore_user_covers_their_prefixes_and_their_photos_elsewhere(
    primary: Storage, backup: S3Storage
) -> None:
    user = (await make_actor("user")).user
    avatar, export = f"users/{user.id}/profile/a.jpg", f"exports/{user.id}/e.zip"
    task_photo = f"tasks/{uuid.uuid4()}/completions/p.jpg"
    others = f"users/{uuid.uuid4()}/profile/x.jpg"
    for key in (avatar, export, task_photo, others):
        await primary.put_bytes(key, b"\xff\xd8\xff", "image/jpeg")
    await run(primary, backup, datetime.now(UTC))
    await media(user, task_photo, MediaStatus.READY)
    for key in (avatar, export, task_photo, others):
        await primary.delete(key)

    report = await restore.restore_prefixes(primary, backup, *await restore.user_scope(user.id))

    assert report.restored.count == 3 and report.rows_revived == 1
    assert await keys_in(primary) == {avatar, export, task_photo}


async def test_verify_backup_reports_missing_and_different_objects(primary: Storage, backup: S3Storage) -> None:
    for name in ("a", "b", "c"):
        await primary.put_bytes(f"k/{name}", name.encode(), "text/plain")
    await primary.put_bytes("k/d.upload", b"staging", "text/plain")
    await run(primary, backup, datetime.now(UTC))
    assert (await restore.verify_backup(primary, backup)).ok

    await primary.put_bytes("k/b", b"bb", "text/plain")
    await primary.put_bytes("k/e", b"e", "text/plain")
    await primary.delete("k/a")
    report = await restore.verify_backup(primary, backup, page_size=2)

    assert not report.ok
    assert (report.objects, report.missing.sample, report.different.sample, report.retained) == (
        3, ["k/e"], ["k/b"], 1)


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "honeydue.cli", "storage", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_storage_restore_and_verify_backup_commands(
    primary: Storage, backup: S3Storage, backup_settings: Settings, s3_env: dict[str, str],
    backup_env: dict[str, str], tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "BACKUP_", "REDIS_URL"))}
    env.update({**s3_env, **backup_env, "DATABASE_URL": backup_settings.database_url, "LOG_FORMAT": "text",
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": "k" * 40})
    await primary.put_bytes("users/u/a.jpg", b"\xff\xd8\xff a", "image/jpeg")

    missing = cli(env, tmp_path, "verify-backup")
    assert missing.returncode == 1, missing.stderr
    assert "1 objects in the bucket: 1 missing from the backup, 0 different" in missing.stdout
    assert "missing  users/u/a.jpg" in missing.stdout

    await run(primary, backup, datetime.now(UTC))
    fine = cli(env, tmp_path, "verify-backup")
    assert (fine.returncode, fine.stderr) == (0, ""), fine.stdout + fine.stderr

    await primary.delete("users/u/a.jpg")
    restored = cli(env, tmp_path, "restore", "users/u/a.jpg")
    assert restored.returncode == 0, restored.stderr
    assert "users/u/a.jpg: 1 objects restored" in restored.stdout
    assert await read(primary, "users/u/a.jpg") == b"\xff\xd8\xff a"

    absent = cli(env, tmp_path, "restore", "users/u/none.jpg")
    assert absent.returncode == 1
    assert absent.stderr == "honeydue storage restore: not in the backup: users/u/none.jpg\n"
    nobody = cli(env, tmp_path, "restore", "--user", str(uuid.uuid4()))
    assert nobody.returncode == 1 and "nothing in the backup for user" in nobody.stderr
    assert "Traceback" not in absent.stderr + nobody.stderr

    off = {k: v for k, v in env.items() if not k.startswith("BACKUP_")}
    unconfigured = cli(off, tmp_path, "verify-backup")
    assert unconfigured.returncode == 1 and "no backup bucket configured" in unconfigured.stderr


def jobs(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "honeydue.cli", "jobs", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_backup_storage_is_a_periodic_job_run_by_name(
    primary: Storage, backup: S3Storage, backup_settings: Settings, s3_env: dict[str, str],
    backup_env: dict[str, str], tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "BACKUP_", "REDIS_URL"))}
    env.update({**s3_env, **backup_env, "DATABASE_URL": backup_settings.database_url, "LOG_FORMAT": "text",
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": "k" * 40})
    listed = jobs(env, tmp_path, "list")
    assert any(line.startswith("backup_storage") and "45 * * * * (UTC)" in line
               for line in listed.stdout.splitlines()), listed.stdout + listed.stderr

    await primary.put_bytes("users/u/a.jpg", b"\xff\xd8\xff a", "image/jpeg")
    ran = jobs(env, tmp_path, "run", "backup_storage")
    assert ran.returncode == 0, ran.stderr
    assert "ran backup_storage in this process" in ran.stdout
    assert await keys_in(backup) == {"users/u/a.jpg"}

    off = {k: v for k, v in env.items() if not k.startswith("BACKUP_")}
    refused = jobs(off, tmp_path, "run", "backup_storage")
    assert refused.returncode == 2 and "backup_storage needs a backup bucket: set BACKUP_ENDPOINT" in refused.stderr


async def test_variants_are_backed_up_purged_from_the_backup_and_restored_with_their_media(
    primary: Storage, backup: S3Storage
) -> None:
    from honeydue.media_variants.keys import variant_keys

    owner = await make_actor("owner")
    key = f"tasks/{uuid.uuid4()}/completions/{uuid.uuid4()}.jpg"  # outside the owner's prefixes, like task photos
    await media(owner.user, key, MediaStatus.READY)
    for k in (key, *variant_keys(key)):
        await primary.put_bytes(k, b"RIFF....WEBP" if k != key else b"\xff\xd8\xff photo", "image/webp")
    now = datetime.now(UTC)
    await run(primary, backup, now)
    assert await keys_in(backup) == {key, *variant_keys(key)}

    for k in (key, *variant_keys(key)):  # all lost from the primary
        await primary.delete(k)
    report = await restore.restore_key(primary, backup, key)  # `honeydue storage restore KEY`
    assert set(report.restored.sample) == {key, *variant_keys(key)}
    assert await keys_in(primary) == {key, *variant_keys(key)}

    for k in variant_keys(key):
        await primary.delete(k)
    prefixes, keys = await restore.user_scope(owner.user.id)  # `--user`: the row's variants come back too
    assert set(variant_keys(key)) <= set(keys)
    await restore.restore_prefixes(primary, backup, prefixes, keys)
    assert await keys_in(primary) == {key, *variant_keys(key)}

    record = await AccountPurge.create(user_id=owner.user.id, prefixes=[f"users/{owner.user.id}/"], keys=[key])
    await purge.purge_account(record.id, primary, now, backup=backup)
    assert await keys_in(primary) == set() and await keys_in(backup) == set()
