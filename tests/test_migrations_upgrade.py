"""A database that has rows upgrades: migrated to 0001 only, given a user with a home, a task, a completion with
a photo, a document and a preference, then ``honeydue migrate`` to the head keeps every row and fills the
columns added since with their defaults, and the app reads them back through the models.

This is the upgrade that failed ("Cannot add a NOT NULL column with default value NULL") when an ``AddField``
of a non-null column had only a Python ``default=``: a test that migrates an empty database never sees it.
Runs on the run's backend (PostgreSQL or SQLite). The migrations and the model reads run in subprocesses:
``Tortoise.init`` replaces the process's ORM state, which the other tests in this process share.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DB_BACKEND, create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.db, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent

USER = "11111111-1111-4111-8111-111111111111"
RESIDENCE = "22222222-2222-4222-8222-222222222222"
TASK = "33333333-3333-4333-8333-333333333333"
COMPLETION = "44444444-4444-4444-8444-444444444444"
DOCUMENT = "55555555-5555-4555-8555-555555555555"
MEDIA = "66666666-6666-4666-8666-666666666666"
TS = "'2026-01-02 03:04:05.000000+00:00'"  # literals both backends take (Tortoise's SQLite text format)

# The schema of 0001_initial, as a database created by that release holds it.
ROWS_AT_0001 = {
    "users": f"""INSERT INTO users (id, created_at, email, password_hash, display_name, is_admin, avatar_id)
        VALUES ('{USER}', {TS}, 'ada@example.test', 'x', 'Ada', FALSE, NULL)""",
    "residences": f"""INSERT INTO residences (id, created_at, name, address, timezone)
        VALUES ('{RESIDENCE}', {TS}, 'Elm Street', '1 Elm St', 'Europe/Berlin')""",
    "memberships": f"""INSERT INTO memberships (id, created_at, role, residence_id, user_id)
        VALUES ('77777777-7777-4777-8777-777777777777', {TS}, 'OWNER', '{RESIDENCE}', '{USER}')""",
    "tasks": f"""INSERT INTO tasks (id, created_at, title, description, category, priority, frequency, interval_days,
        rolling, anchor_date, due_date, in_progress, cancelled, archived, completed, last_completed_at, updated_at,
        assignee_id, created_by_id, residence_id)
        VALUES ('{TASK}', {TS}, 'Change the furnace filter', 'The 16x25 one', 'HVAC', 'MEDIUM', 'MONTHLY', NULL,
        FALSE, '2026-01-01', '2026-02-01', FALSE, FALSE, FALSE, FALSE, {TS}, {TS}, '{USER}', '{USER}',
        '{RESIDENCE}')""",
    "task_completions": f"""INSERT INTO task_completions (id, created_at, completed_at, notes, cost_cents,
        completed_by_id, task_id)
        VALUES ('{COMPLETION}', {TS}, {TS}, 'Filter changed', 1299, '{USER}', '{TASK}')""",
    "documents": f"""INSERT INTO documents (id, created_at, title, kind, notes, expires_at, updated_at, created_by_id,
        residence_id)
        VALUES ('{DOCUMENT}', {TS}, 'Furnace manual', 'MANUAL', '', '2030-01-01', {TS}, '{USER}', '{RESIDENCE}')""",
    "media": f"""INSERT INTO media (id, created_at, key, purpose, target_id, filename, content_type, size, status,
        reject_reason, etag, finalized_at, updated_at, completion_id, document_id, owner_id, residence_id)
        VALUES ('{MEDIA}', {TS}, 'completions/{MEDIA}.jpg', 'COMPLETION_PHOTO', '{COMPLETION}', 'filter.jpg',
        'image/jpeg', 1234, 'READY', NULL, 'abc', {TS}, {TS}, '{COMPLETION}', NULL, '{USER}', '{RESIDENCE}')""",
    "notification_preferences": f"""INSERT INTO notification_preferences (id, created_at, type, enabled, hour_of_day,
        user_id)
        VALUES ('88888888-8888-4888-8888-888888888888', {TS}, 'TASK_DUE_SOON', TRUE, 8, '{USER}')""",
}

# Columns added after 0001 as NOT NULL, with what an upgraded row must hold (as the database returns it).
ADDED_DEFAULTS = {
    ("users", "email_verified", USER): False,
    ("users", "disabled", USER): False,
    ("residences", "type", RESIDENCE): "HOUSE",
    ("tasks", "rotation_mode", TASK): "FIXED",
    ("task_completions", "skipped", COMPLETION): False,
    ("media", "variants_attempts", MEDIA): 0,
}

MIGRATE_TO = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate
from honeydue.db import APP_LABEL, tortoise_config
from honeydue.settings import load_settings

async def main():
    try:
        await migrate(config=tortoise_config(load_settings()), target=APP_LABEL + "." + sys.argv[1])
    finally:
        await Tortoise.close_connections()

asyncio.run(main())
"""

READ_THROUGH_MODELS = f"""
import asyncio, json
from honeydue import db
from honeydue.models import Document, Media, Membership, Residence, Task, TaskCompletion, User
from honeydue.settings import load_settings

async def main():
    await db.init_db(load_settings())
    try:
        user = await User.get(id="{USER}")
        residence = await Residence.get(id="{RESIDENCE}")
        membership = await Membership.get(user_id=user.id)
        task = await Task.get(id="{TASK}")
        completion = await TaskCompletion.get(id="{COMPLETION}")
        media = await Media.get(id="{MEDIA}")
        document = await Document.get(id="{DOCUMENT}")
        print(json.dumps({{
            "email": user.email, "disabled": user.disabled, "email_verified": user.email_verified,
            "email_verified_at": user.email_verified_at, "created_at": user.created_at.isoformat(),
            "residence_type": residence.type.value, "timezone": residence.timezone,
            "role": membership.role.value, "membership_residence": str(membership.residence_id),
            "rotation_mode": task.rotation_mode.value, "due_date": task.due_date.isoformat(),
            "skipped": completion.skipped, "cost_cents": completion.cost_cents,
            "variants_attempts": media.variants_attempts, "media_completion": str(media.completion_id),
            "document": document.title,
        }}))
    finally:
        await db.close_db()

asyncio.run(main())
"""


def python(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_sql(url: str, statements: list[str]) -> None:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            for statement in statements:
                conn.execute(statement)
        conn.close()
        return

    async def on_postgres() -> None:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(on_postgres())


def fetch_value(url: str, sql: str) -> object:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            value = conn.execute(sql).fetchone()[0]
        conn.close()
        return value

    async def on_postgres() -> object:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(on_postgres())


@pytest.fixture
def empty_database(tmp_path: Path) -> object:
    if DB_BACKEND == "postgres":
        url = asyncio.run(create_postgres_database())
        yield url
        asyncio.run(drop_postgres_database(url))
    else:
        yield f"sqlite://{tmp_path / 'upgrade.sqlite3'}"


def test_database_with_rows_at_0001_upgrades_to_the_head(empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    env = {**os.environ, "DATABASE_URL": url, "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "LOG_FORMAT": "text",
           "PYTHONPATH": str(ROOT)}
    python(env, "-c", MIGRATE_TO, "0001_initial")
    assert fetch_value(url, "SELECT COUNT(*) FROM tortoise_migrations") == 1
    run_sql(url, list(ROWS_AT_0001.values()))

    out = python(env, "-m", "honeydue.cli", "migrate")  # what an operator runs on upgrade
    assert "applied " in out and "0001_initial" not in out, out

    for table in ROWS_AT_0001:
        assert fetch_value(url, f"SELECT COUNT(*) FROM {table}") == 1, table
    for (table, column, row_id), expected in ADDED_DEFAULTS.items():
        value = fetch_value(url, f"SELECT {column} FROM {table} WHERE id = '{row_id}'")
        assert value == expected, (table, column, value)  # SQLite's 0 == False: the model read checks the type

    read = json.loads(python(env, "-c", READ_THROUGH_MODELS))
    assert read["disabled"] is False and read["email_verified"] is False and read["email_verified_at"] is None
    assert read["created_at"] == "2026-01-02T03:04:05+00:00"
    assert read["skipped"] is False and read["variants_attempts"] == 0
    assert {k: read[k] for k in ("email", "residence_type", "timezone", "role", "membership_residence",
                                  "rotation_mode", "due_date", "cost_cents", "media_completion", "document")} == {
        "email": "ada@example.test", "residence_type": "HOUSE", "timezone": "Europe/Berlin", "role": "OWNER",
        "membership_residence": RESIDENCE, "rotation_mode": "FIXED", "due_date": "2026-02-01", "cost_cents": 1299,
        "media_completion": COMPLETION, "document": "Furnace manual",
    }
