"""``honeydue storage ls|du|get`` and ``honeydue check-config`` as real subprocesses, on S3 and the local backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from honeydue.settings import Settings, load_settings
from honeydue.storage import create_storage
from tests.conftest import REPO, free_port
from tests.s3server import S3TestServer

pytestmark = pytest.mark.e2e

OBJECTS = {
    "residences/r1/documents/a.pdf": b"%PDF-1.7 " + b"a" * 91,
    "residences/r1/documents/b.pdf": b"%PDF-1.7 " + b"b" * 241,
    "users/u1/profile/c.jpg": b"\xff\xd8\xff" + b"c" * 4,
}
SIGNING_KEY = "signing-key-that-must-not-show-" + "k" * 16


def run_cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "SMTP_"))}
    base.update({"PYTHONPATH": str(REPO), "LOG_FORMAT": "text", **env})
    return subprocess.run([sys.executable, "-m", "honeydue.cli", *args], env=base, cwd=cwd, capture_output=True,
                          timeout=120)


async def fill(settings: Settings) -> None:
    storage = create_storage(settings)
    await storage.start()
    try:
        for key, body in OBJECTS.items():
            await storage.put_bytes(key, body, "application/octet-stream")
    finally:
        await storage.close()


async def keys_in(settings: Settings) -> list[str]:
    storage = create_storage(settings)
    await storage.start()
    try:
        return [info.key async for info in storage.list("")]
    finally:
        await storage.close()


@pytest.fixture
def s3_cli_env(s3_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**s3_env, "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def local_cli_env(tmp_path: Path) -> dict[str, str]:
    return {"HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": SIGNING_KEY}


@pytest.mark.parametrize("backend", ["s3", "local"])
async def test_storage_ls_du_get(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    env = request.getfixturevalue(f"{backend}_cli_env")
    await fill(load_settings(env))

    listing = run_cli(env, "storage", "ls", "residences/")
    assert listing.returncode == 0, listing.stderr.decode()
    rows = [line.split() for line in listing.stdout.decode().splitlines()]
    assert [(row[1], row[2]) for row in rows] == [
        ("100", "residences/r1/documents/a.pdf"),
        ("250", "residences/r1/documents/b.pdf"),
    ]

    usage = run_cli(env, "storage", "du", "residences/")
    assert usage.returncode == 0, usage.stderr.decode()
    assert usage.stdout.decode().startswith("2 objects  350 bytes")
    whole = run_cli(env, "storage", "du")
    assert whole.stdout.decode().startswith("3 objects  357 bytes")

    target = tmp_path / "out" / "b.pdf"
    target.parent.mkdir()
    saved = run_cli(env, "storage", "get", "residences/r1/documents/b.pdf", str(target))
    assert saved.returncode == 0, saved.stderr.decode()
    assert target.read_bytes() == OBJECTS["residences/r1/documents/b.pdf"]
    piped = run_cli(env, "storage", "get", "users/u1/profile/c.jpg")
    assert piped.returncode == 0 and piped.stdout == OBJECTS["users/u1/profile/c.jpg"]

    missing = run_cli(env, "storage", "get", "users/u1/profile/nope.jpg", str(tmp_path / "out" / "nope.jpg"))
    assert missing.returncode == 1
    assert "no such object: users/u1/profile/nope.jpg" in missing.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.pdf"]  # no partial file left behind


async def test_check_config_passes_on_s3_postgres_redis_and_masks_secrets(
    s3_cli_env: dict[str, str], s3_server: S3TestServer, database: str, redis_url: str
) -> None:
    db_url = database
    if db_url.startswith("postgres"):  # trust auth ignores the password, so it is only there to be masked
        db_url = db_url.replace("://postgres@", "://postgres:db-password-xyz@", 1)
    env = {**s3_cli_env, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "MEDIA_SIGNING_KEY_PREVIOUS": "previous-signing-key-hidden", "SMTP_PASSWORD": "smtp-password-hidden"}
    result = run_cli(env, "check-config")
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    lines = out.splitlines()
    assert any(line.split()[:2] == ["ok", "database"] for line in lines), out
    assert any(line.split()[:2] == ["ok", "redis"] for line in lines), out
    assert any(line.split()[:2] == ["ok", "bucket"] and env["B2_BUCKET_NAME"] in line for line in lines), out
    assert lines[-1] == "check-config: all checks passed"
    for name in ("B2_APP_KEY", "MEDIA_SIGNING_KEY", "MEDIA_SIGNING_KEY_PREVIOUS", "SMTP_PASSWORD"):
        assert f"  {name}=****" in lines
    assert f"  B2_KEY_ID={env['B2_KEY_ID']}" in lines
    for secret in (s3_server.secret_key, SIGNING_KEY, "previous-signing-key-hidden", "smtp-password-hidden",
                   "db-password-xyz"):
        assert secret not in out + result.stderr.decode()
    assert await keys_in(load_settings(env)) == []  # the probe object was deleted


def test_check_config_local_backend(local_cli_env: dict[str, str]) -> None:
    assert run_cli(local_cli_env, "migrate").returncode == 0  # pending migrations fail the check
    result = run_cli(local_cli_env, "check-config")
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert any(line.split()[:2] == ["ok", "bucket"] and "media directory" in line for line in out.splitlines())
    assert any(line.split()[:2] == ["skip", "redis"] for line in out.splitlines())


def test_check_config_fails_clearly_when_nothing_answers(tmp_path: Path) -> None:
    closed = free_port()
    env = {
        "HONEYDUE_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_SIGNING_KEY": SIGNING_KEY,
        "DATABASE_URL": f"postgres://honeydue:db-password-xyz@127.0.0.1:{closed}/honeydue",
        "REDIS_URL": f"redis://:redis-password-xyz@127.0.0.1:{closed}/13",
        "B2_ENDPOINT": f"http://127.0.0.1:{closed}",
        "B2_BUCKET_NAME": "honeyDueProd",
        "B2_KEY_ID": "key-id",
        "B2_APP_KEY": "app-key-secret-xyz",
        "B2_USE_SSL": "false",
    }
    result = run_cli(env, "check-config")
    out = result.stdout.decode()
    assert result.returncode == 1, out
    lines = out.splitlines()
    bucket = [line for line in lines if line.split()[:2] == ["FAIL", "bucket"]]
    assert len(bucket) == 1, out
    assert f"bucket honeyDueProd at http://127.0.0.1:{closed}: list failed: StorageUnavailable" in bucket[0]
    assert any(line.split()[:2] == ["FAIL", "database"] for line in lines), out
    assert any(line.split()[:2] == ["FAIL", "redis"] for line in lines), out
    assert lines[-1] == "check-config: FAILED: database, redis, bucket"
    assert f"  DATABASE_URL=postgres://honeydue:****@127.0.0.1:{closed}/honeydue" in lines
    assert f"  REDIS_URL=redis://:****@127.0.0.1:{closed}/13" in lines
    for secret in ("db-password-xyz", "redis-password-xyz", "app-key-secret-xyz", SIGNING_KEY):
        assert secret not in out + result.stderr.decode()


def test_storage_command_reports_an_unreachable_bucket(tmp_path: Path) -> None:
    env = {"HONEYDUE_VAR_DIR": str(tmp_path / "var"), "B2_ENDPOINT": f"http://127.0.0.1:{free_port()}",
           "B2_BUCKET_NAME": "honeyDueProd", "B2_KEY_ID": "k", "B2_APP_KEY": "s", "B2_USE_SSL": "false"}
    result = run_cli(env, "storage", "du")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("honeydue storage du: StorageUnavailable")


async def test_a_mis_cased_bucket_is_reported_as_a_missing_bucket(s3_cli_env: dict[str, str], tmp_path: Path) -> None:
    """B2 bucket names are case-sensitive: ``honeydue-…`` for ``honeyDue-…`` is a missing bucket, not a missing key."""
    await fill(load_settings(s3_cli_env))
    wrong = s3_cli_env["B2_BUCKET_NAME"].lower()
    env = {**s3_cli_env, "B2_BUCKET_NAME": wrong}
    for args in (("get", "users/u1/profile/c.jpg", str(tmp_path / "c.jpg")), ("get", "users/u1/profile/c.jpg"),
                 ("ls", "users/"), ("du",)):
        result = run_cli(env, "storage", *args)
        err = result.stderr.decode()
        assert result.returncode == 1, err
        assert f"honeydue storage {args[0]}: bucket not found: {wrong}" in err, err
        assert "object" not in err and "Traceback" not in err, err
    assert not (tmp_path / "c.jpg").exists()


@pytest.mark.parametrize("where", ["missing-directory", "under-a-file", "a-directory"])
def test_storage_get_to_an_unwritable_path_is_one_line(
    local_cli_env: dict[str, str], tmp_path: Path, where: str
) -> None:
    env = local_cli_env
    key = "users/u1/profile/c.jpg"
    media = Path(env["HONEYDUE_VAR_DIR"]) / "media" / key
    media.parent.mkdir(parents=True)
    media.write_bytes(OBJECTS[key])
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    target = {"missing-directory": tmp_path / "nope" / "c.jpg", "under-a-file": tmp_path / "a-file" / "c.jpg",
              "a-directory": tmp_path / "a-dir"}[where]
    result = run_cli(env, "storage", "get", key, str(target))
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith(f"honeydue storage get: cannot write {target}: "), err
    assert "Traceback" not in err
    assert list((tmp_path / "a-dir").iterdir()) == []



@pytest.mark.parametrize(("job", "says"), [
    ("send_notifications", "send_notifications needs the ids of the notifications to send"),
    ("purge_account", "purge_account needs the id of an account purge (run sweep_account_purges"),
    ("send_email", "send_email needs the id of a queued email (run sweep_email_outbox"),
])
def test_jobs_run_says_what_a_job_sent_with_an_id_needs(local_cli_env: dict[str, str], job: str, says: str) -> None:
    done = run_cli(local_cli_env, "jobs", "run", job)
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()  # one clear line, no traceback
    assert len(lines) == 1 and lines[0].startswith(f"jobs run: {says}"), lines


def test_every_job_is_periodic_or_says_what_it_needs() -> None:
    from workers.actors import ACTORS
    from workers.cli import SENT_WITH_AN_ID
    from workers.schedule import periodic_jobs

    periodic = {job.actor_name for job in periodic_jobs(load_settings(environ={}))}
    assert set(ACTORS) == periodic | set(SENT_WITH_AN_ID)
