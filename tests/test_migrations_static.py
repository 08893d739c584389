"""Migrations can upgrade a database that already has rows, and the models agree with the migrations.

``ADD COLUMN ... NOT NULL`` without a ``DEFAULT`` fails on a non-empty table (SQLite: "Cannot add a NOT NULL
column with default value NULL"; PostgreSQL: "column ... contains null values"). A field's Python ``default=``
never reaches the DDL; only ``db_default=`` does. So every ``AddField`` of a non-null field must carry a
``db_default`` (or the column is added nullable, filled, then altered to NOT NULL). The scan reads each migration
module's ``operations``, not its text, so a reformatted file cannot hide one.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise.fields.relational import ForeignKeyFieldInstance, OneToOneFieldInstance
from tortoise.migrations import operations as ops

from honeydue.db import MIGRATIONS_MODULE

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / MIGRATIONS_MODULE


def migration_modules() -> list[str]:
    return sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))


def add_fields_without_db_default() -> list[str]:
    """``migration: Model.field`` for every AddField that would add a NOT NULL column with no DB default."""
    bad = []
    for name in migration_modules():
        migration = importlib.import_module(f"{MIGRATIONS_MODULE}.{name}").Migration
        for op in migration.operations:
            if not isinstance(op, ops.AddField):
                continue
            field = op.field
            if field.null or field.has_db_default() or field.generated:
                continue
            if isinstance(field, (ForeignKeyFieldInstance, OneToOneFieldInstance)):
                # A non-null FK column has no constant default either: it needs the nullable-fill-alter pattern.
                bad.append(f"{name}: {op.model_name}.{op.name} (non-null foreign key)")
                continue
            bad.append(f"{name}: {op.model_name}.{op.name}")
    return bad


def test_migrations_found() -> None:
    assert "0001_initial" in migration_modules()


def test_every_added_non_null_column_has_a_database_default() -> None:
    assert add_fields_without_db_default() == [], (
        "these AddFields add a NOT NULL column with no DEFAULT, which fails on a table that has rows; "
        "give the field db_default=<its default> (in the migration and the model), or add it nullable, "
        "fill it (RunSQL/RunPython) and AlterField it to NOT NULL"
    )


AGREE_SCRIPT = """
import asyncio
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector
from honeydue.db import APP_LABEL, MIGRATIONS_MODULE

async def main():
    app = {"models": ["honeydue.models"], "migrations": MIGRATIONS_MODULE, "default_connection": "default"}
    apps = {APP_LABEL: app}
    config = {"connections": {"default": "sqlite://:memory:"}, "apps": apps, "use_tz": True, "timezone": "UTC"}
    await Tortoise.init(config=config, init_connections=False)
    for writer in await MigrationAutodetector(Tortoise.apps, apps).changes():
        for op in writer.operations:
            print(writer.name, type(op).__name__, getattr(op, "model_name", ""), getattr(op, "name", ""))

asyncio.run(main())
"""


def test_models_and_migrations_agree() -> None:
    """``makemigrations`` would write nothing: the models' state is what the migrations build, db_default included.

    In a subprocess: ``Tortoise.init`` replaces the process's ORM state, which other tests in this process use.
    """
    result = subprocess.run([sys.executable, "-c", AGREE_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", "models differ from the migrations; makemigrations would write:\n" + result.stdout
