"""Which migrations the database still lacks, for ``/readyz`` and ``check-config``.

The files on disk are the ones ``honeydue migrate`` applies (listed the way Tortoise's loader lists them);
the applied ones are the rows of Tortoise's migration recorder table. A database that was never migrated
has no such table: the recorder then reports nothing applied, so every migration is pending.
"""

from __future__ import annotations

import pkgutil
from functools import lru_cache
from importlib import import_module

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.recorder import MigrationRecorder

from honeydue.db import APP_LABEL, MIGRATIONS_MODULE


@lru_cache(maxsize=1)
def migrations_on_disk() -> tuple[str, ...]:
    """The migration names shipped with this code, in order (read once: the files do not change)."""
    package = import_module(MIGRATIONS_MODULE)
    return tuple(sorted(name for _, name, is_pkg in pkgutil.iter_modules(package.__path__)
                        if not is_pkg and name[0] not in "_~"))


async def pending_migrations(connection: BaseDBAsyncClient | None = None) -> list[str]:
    """The migrations on disk the database has not recorded as applied (one query)."""
    recorder = MigrationRecorder(connection or connections.get("default"))
    applied = {key.name for key in await recorder.applied_migrations() if key.app_label == APP_LABEL}
    return [name for name in migrations_on_disk() if name not in applied]


class MigrationWatch:
    """Pending migrations as readiness sees them: asked of the database until none are left, then never again.

    Migrations only ever get applied while a process runs (a rollback is a new deployment, hence a new
    process), so once nothing is pending the answer stays true and probes cost no query.
    """

    def __init__(self) -> None:
        self._all_applied = False

    async def pending(self) -> list[str]:
        if self._all_applied:
            return []
        pending = await pending_migrations()
        self._all_applied = not pending
        return pending
