"""Database setup: the Tortoise configuration, start/stop, and migrations under a lock."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

from honeydue.settings import Settings

log = logging.getLogger(__name__)

APP_LABEL = "honeydue"
MIGRATIONS_MODULE = "migrations"
# A fixed pg_advisory_lock key: the crc32 of a greppable name (a 32-bit value; the lock takes a bigint).
MIGRATION_LOCK_KEY = zlib.crc32(b"honeydue-migrations")


class PooledConnection(asyncpg.Connection):
    """An asyncpg connection whose release to the pool costs no round trip to the server.

    asyncpg's pool sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` each time
    a connection goes back, and Tortoise takes one from the pool per query outside a transaction: that
    doubled the round trips of every request (and was ~8% of the api's CPU under ``bench/load.py``).
    Nothing run through the ORM changes session state (no session ``SET``, ``LISTEN``, advisory locks
    or held cursors: the migration lock uses a connection of its own), so there is nothing to undo.
    asyncpg still rolls back a transaction left open and drops listeners on release, as before.
    Anything that does change session state must use its own connection, like ``migrate``.
    """

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.effective_database_url
    connection: str | dict[str, Any] = url
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
    elif settings.is_postgres:
        expanded = expand_db_url(url)
        if expanded["engine"] == "tortoise.backends.asyncpg":
            expanded["credentials"]["connection_class"] = PooledConnection
            connection = expanded
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["honeydue.models"],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings) -> None:
    """Open the ORM for this process.

    Tortoise 1.x keeps its state in a context variable; a lifespan task's
    context is not the request tasks' context, so without the global fallback
    every request would see an uninitialised ORM.
    """
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def ping_db() -> None:
    conn = connections.get("default")
    await conn.execute_query("SELECT 1")


@dataclass(frozen=True)
class Database:
    """``Services.db``: the process's ORM, as readiness checks see it.

    Tortoise keeps its connections in module state (``init_db``/``close_db``, called by
    ``honeydue.services.open_services``); this handle is how the rest of the process reaches them.
    """

    is_postgres: bool

    async def ping(self) -> None:
        await ping_db()


async def migrate(settings: Settings) -> list[str]:
    """Apply pending migrations; returns the names applied by this process.

    On PostgreSQL the whole run holds ``pg_advisory_lock`` on a connection of
    its own, so replicas started together wait for each other and each
    migration is applied exactly once (the rest find nothing to do).
    """
    from tortoise.migrations.api import migrate as run_migrations

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            log.info("migration applied: %s.%s", app_label, name)
            applied.append(name)

    config = tortoise_config(settings)
    lock_conn = None
    if settings.is_postgres:
        lock_conn = await asyncpg.connect(_asyncpg_dsn(settings.effective_database_url))
        log.info("waiting for the migration lock")
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await run_migrations(config=config, progress=progress)
    finally:
        await Tortoise.close_connections()
        if lock_conn is not None:
            await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
            await lock_conn.close()
    return applied


def _asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql").geturl()
