"""Shared fixtures: the database backends, Redis, an API client, users, and a real ``honeydue serve``.

Database-backed tests run on the backend named by ``HONEYDUE_TEST_DATABASE``
(``postgres``, the default, with a fresh database per run, or per worker under pytest-xdist, copied from a
migrated template, or ``sqlite``).
``./dev test`` runs the whole suite on PostgreSQL and then the database tests
(marker ``db``, added automatically) again on SQLite: one process per backend,
because Tortoise caches dialect-specific SQL on the model classes. When ``CI``
is set, a missing PostgreSQL or Redis fails the run instead of skipping, so CI
can never pass by testing less.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from argon2 import PasswordHasher

from honeydue import clock, db, passwords
from honeydue.settings import Settings, load_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from honeydue.services import Services
    from honeydue.storage import Storage

IN_CI = bool(os.environ.get("CI"))

# Argon2id at the production cost is a tenth of a second of CPU per hash, and the suite hashes hundreds of
# passwords. In-process tests use the same algorithm at its lowest cost; the servers the e2e tests start
# keep the production cost.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DB_BACKEND = os.environ.get("HONEYDUE_TEST_DATABASE", "postgres")

pytest_plugins = [p for p in ("tests.plugins.s3", "tests.plugins.mail", "tests.plugins.webhook_receiver",
                                "tests.plugins.app_on_backends")
                  if (REPO / (p.replace(".", "/") + ".py")).exists()]

def missing_service(what: str) -> None:
    """Skip locally, fail in CI: a suite that silently tests less must not pass there."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable", pytrace=False)
    pytest.skip(f"{what} not reachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------------


async def _pg_admin_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_postgres_database(name: str | None = None, template: str = "template1") -> str:
    """A fresh database for this run, empty unless made from another ``template``; returns its URL.

    ``name``: a fixed name instead of a unique one (a database of that name is dropped first).
    """
    try:
        if name is None:
            name = f"honeydue_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        else:
            await _pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _pg_admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        # A throwaway database needs no crash durability: not waiting for the WAL flush on every commit
        # makes the database tier several times faster on a busy disk. Queries and results are unchanged.
        await _pg_admin_execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except (TimeoutError, OSError) as exc:
        missing_service(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    await _pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Serialises the making of a template between the processes of a run (xdist workers) and concurrent runs.
TEMPLATE_LOCK_KEY = 0x686F6E6579  # "honey"


def migrations_digest() -> str:
    """What a migrated database depends on: the migration files, the ORM configuration (``honeydue/db.py``) and
    the Tortoise version that applies them."""
    import tortoise

    digest = hashlib.sha256(tortoise.__version__.encode())
    for path in [REPO / "honeydue" / "db.py", *sorted((REPO / "migrations").glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


async def create_migrated_postgres_database() -> str:
    """A fresh database for this run with every migration applied; returns its URL.

    Applying the migrations takes seconds of CPU (Tortoise rebuilds its model state operation by operation), so
    they are applied once per set of migration files, to a template database named after their digest, and
    each run copies that (``CREATE DATABASE … TEMPLATE``, a file copy inside the server). A template no one
    connects to again; an interrupted build leaves only a ``…_building`` database, dropped by the next one.
    """
    import asyncpg

    template = f"honeydue_test_template_{migrations_digest()}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=3)
    except (TimeoutError, OSError) as exc:
        missing_service(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", TEMPLATE_LOCK_KEY)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template):
                building = await create_postgres_database(f"{template}_building")
                with tempfile.TemporaryDirectory() as var:
                    await db.migrate(make_settings(Path(var), DATABASE_URL=building))
                await conn.execute(f'ALTER DATABASE "{template}_building" RENAME TO "{template}"')
                await conn.execute(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false')
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", TEMPLATE_LOCK_KEY)
    finally:
        await conn.close()
    return await create_postgres_database(template=template)


# --- settings and database --------------------------------------------------------------------------


def make_settings(tmp: Path, **overrides: str) -> Settings:
    env = {
        "HONEYDUE_VAR_DIR": str(tmp / "var"),
        "MEDIA_SIGNING_KEY": "test-signing-key-" + "x" * 32,
        "PUBLIC_GATEWAY_URL": "http://testserver",
        "LOG_FORMAT": "text",
    }
    env.update(overrides)
    return load_settings(env)


# Markers a fixture implies (pyproject.toml declares them; ``./dev test --fast`` selects by them).
FIXTURE_MARKERS = {
    "database": "db",
    "redis_url": "redis",
    "s3_server": "s3",
    "honeydue_serve": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in fixtures:
                item.add_marker(marker)


@pytest.fixture(scope="session")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The database URL of this run's backend, migrated and opened for the session's event loop."""
    backend = DB_BACKEND
    settings_dir = tmp_path_factory.mktemp("dbvar")
    if backend == "postgres":
        url = await create_migrated_postgres_database()
        settings = make_settings(settings_dir, DATABASE_URL=url)
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
        settings = make_settings(settings_dir, DATABASE_URL=url)
        await db.migrate(settings)
    await db.init_db(settings)
    try:
        yield url
    finally:
        await db.close_db()
        if backend == "postgres":
            await drop_postgres_database(url)


def tables_referrers_first() -> list[str]:
    """The table of every registered Tortoise model (and many-to-many table), each before the tables it references.

    Deleting in this order never trips a foreign key, on either backend, whatever the ``on_delete`` rules;
    a model added later is cleared without anyone keeping a list.
    """
    from tortoise import Tortoise

    references: dict[str, set[str]] = {}
    for app in Tortoise.apps.values():
        for model in app.values():
            meta = model._meta
            table = meta.db_table
            references.setdefault(table, set()).update(
                meta.fields_map[name].related_model._meta.db_table for name in meta.fk_fields | meta.o2o_fields
            )
            for name in meta.m2m_fields:
                field = meta.fields_map[name]
                references.setdefault(field.through, set()).update({table, field.related_model._meta.db_table})
    ordered: list[str] = []
    while references:
        referenced = {target for source, targets in references.items() for target in targets if target != source}
        ready = sorted(table for table in references if table not in referenced)
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(references)}: clear them another way")
        ordered += ready
        for table in ready:
            del references[table]
    return ordered


@pytest.fixture
async def settings(database: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for one test on the current backend; every model's table is emptied afterwards."""
    yield make_settings(tmp_path, DATABASE_URL=database)
    from tortoise import connections

    # One script, one round trip to the server.
    script = "; ".join(f'DELETE FROM "{table}"' for table in tables_referrers_first())
    await connections.get("default").execute_script(script)


# --- the clock ----------------------------------------------------------------------------------------

# The instant ``frozen_now`` starts at: a weekday noon in UTC, far from any month, year or DST edge.
FROZEN_NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)


@dataclass
class FrozenClock:
    """What ``honeydue.clock`` answers while a test holds ``frozen_now``: ``now``, until the test sets another."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Fix the service's "now" (``honeydue.clock``, the one seam) at ``FROZEN_NOW`` for this test.

    The ORM's ``auto_now`` row stamps (Tortoise's own clock) move to the same timeline: they start at the frozen
    instant and run on in real time from there, so rows keep their order of creation and a row made in the
    test is never a year older or newer than the test's "now".
    """
    import tortoise.timezone

    frozen = FrozenClock(FROZEN_NOW)
    monkeypatch.setattr(clock, "source", frozen)
    started = time.monotonic()
    monkeypatch.setattr(tortoise.timezone, "now", lambda: frozen.now + timedelta(seconds=time.monotonic() - started))
    return frozen


# --- Redis ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        missing_service(f"Redis at {REDIS_TEST_URL}")
    finally:
        client.close()
    return REDIS_TEST_URL


@contextlib.contextmanager
def flushed_redis(url: str) -> Iterator[object]:
    """A synchronous client on ``url``'s database, emptied before and after (missing Redis: see above)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        missing_service(f"Redis at {url}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[object]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


# --- the API over ASGI ------------------------------------------------------------------------------


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    token: str | None = None

    async def execute(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {}
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def as_user(self, token: str) -> GraphQLClient:
        return GraphQLClient(self.http, token)


@contextlib.asynccontextmanager
async def attach_test_services(app: Starlette, settings: Settings, *,
                               storage: Storage | None = None) -> AsyncIterator[Services]:
    """What the app's lifespan would open (``open_services``), minus the ORM the ``database`` fixture holds.

    ``storage``: an open client to share (left open). The media routes' state is attached too, so the same
    helper serves the API, the gateway and the embedded app.
    """
    from gateway.state import attach_gateway
    from honeydue.services import open_services

    async with open_services(settings, open_db=False, storage=storage) as services:
        attach_gateway(app, services)
        yield services


@pytest.fixture
async def api_app(settings: Settings) -> AsyncIterator[object]:
    from honeydue.app import create_embedded_app

    # The embedded app is the API plus the gateway's /media routes; ASGITransport runs no lifespan, so no
    # in-process jobs start (tests run jobs explicitly).
    app = create_embedded_app(settings)
    async with attach_test_services(app, settings):
        yield app


@pytest.fixture
async def api(api_app: object) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=api_app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { token user { id email displayName } userErrors { field message code } }
}"""


@pytest.fixture
def make_user(api: GraphQLClient):
    """Register a user over GraphQL; returns (token, user dict)."""

    async def make(email: str | None = None, password: str = "correct horse battery", name: str = "Test User"):
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        data = await api.execute(REGISTER, {"input": {"email": email, "password": password, "displayName": name}})
        payload = data["data"]["register"]
        assert payload["userErrors"] == [], payload
        return payload["token"], payload["user"]

    return make


# --- a real `honeydue serve` process ----------------------------------------------------------------


@dataclass
class ServeProcess:
    base_url: str
    workdir: Path
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_serve(workdir: Path, env_overrides: dict[str, str] | None = None, command: str = "serve",
                port: int | None = None) -> ServeProcess:
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"HONEYDUE_VAR_DIR": str(workdir / "var"), "LOG_FORMAT": "text", "PYTHONUNBUFFERED": "1"})
    env.update(env_overrides or {})
    log_path = workdir / f"{command}-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "honeydue.cli", command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    server = ServeProcess(f"http://127.0.0.1:{port}", workdir, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"honeydue {command} exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"honeydue {command} did not become healthy:\n{server.log()}")


def stop_serve(server: ServeProcess) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def honeydue_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``honeydue serve`` on the embedded default (SQLite, local media, in-process jobs) on a free port."""
    server = start_serve(tmp_path_factory.mktemp("serve"))
    yield server
    stop_serve(server)
