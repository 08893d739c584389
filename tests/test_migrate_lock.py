"""Three `honeydue migrate` processes against one empty PostgreSQL database serialise on the lock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_concurrent_migrate_applies_each_migration_once(tmp_path) -> None:
    import asyncpg

    url = await create_postgres_database()
    try:
        env = {**os.environ, "DATABASE_URL": url, "HONEYDUE_VAR_DIR": str(tmp_path), "LOG_FORMAT": "text"}
        procs = [
            await asyncio.create_subprocess_exec(sys.executable, "-m", "honeydue.cli", "migrate", env=env,
                                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(3)
        ]
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
        outputs = [out.decode() for out, _ in results]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            rows = await conn.fetch("SELECT app, name FROM tortoise_migrations ORDER BY name")
        finally:
            await conn.close()
        names = [r["name"] for r in rows]
        assert len(names) == len(set(names)) and names, names
        applied_counts = sorted(out.count("applied 0 migration") for out in outputs)
        assert applied_counts == [0, 1, 1], outputs  # one process did the work, two found nothing to do
    finally:
        await drop_postgres_database(url)
