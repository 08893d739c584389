"""Operator subcommands for the backup bucket: ``honeydue storage restore`` and ``honeydue storage verify-backup``.

Both read the service's own settings (``B2_*`` for the bucket, ``BACKUP_*`` for the backup) and open them
through ``open_services``, like every other process. Errors are one line on standard error and exit 1
(``honeydue.ops_cli``'s style); what is missing from the backup is never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from honeydue.ops_cli import describe, fail
from honeydue.services import open_services
from honeydue.settings import Settings, settings_or_exit
from honeydue.storage import StorageError

DEFAULT_SHOW = 20


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``restore`` and ``verify-backup`` to ``honeydue storage``."""
    p = commands.add_parser(
        "restore", help="copy objects back from the backup bucket: KEY, or every object of --user / --residence")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("key", metavar="KEY", nargs="?", help="one object key")
    target.add_argument("--user", metavar="ID", type=_uuid, help="a user's objects (users/ID/…, exports/ID/…)")
    target.add_argument("--residence", metavar="ID", type=_uuid,
                        help="a residence's objects (residences/ID/…, and its tasks' tasks/TASK_ID/…)")
    p.set_defaults(func=cmd_storage_restore)

    p = commands.add_parser("verify-backup",
                            help="report objects missing from the backup or different there; exit 1 if any")
    p.add_argument("--show", metavar="N", type=int, default=DEFAULT_SHOW, help="keys listed per kind (default 20)")
    p.set_defaults(func=cmd_storage_verify_backup)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {value!r} (a UUID)") from None


def _describe(exc: StorageError) -> str:
    return describe(exc, "B2_BUCKET_NAME or BACKUP_BUCKET_NAME")


def _require_backup(command: str, settings: Settings) -> None:
    if not settings.uses_backup:
        fail(command, "no backup bucket configured (set BACKUP_ENDPOINT, BACKUP_BUCKET_NAME, BACKUP_KEY_ID, "
                       "BACKUP_APP_KEY)")


# storage restore -----------------------------------------------------------------------------------------


async def storage_restore(settings: Settings, args: argparse.Namespace) -> tuple[str, bool]:
    """Run the restore ``args`` ask for; returns the summary line and whether it found what it was asked for."""
    from workers import restore

    async with open_services(settings) as services:
        assert services.backup is not None
        if args.key is not None:
            report = await restore.restore_key(services.storage, services.backup, args.key)
            what = args.key
            if report.not_in_backup.count:
                return f"not in the backup: {args.key}", False
        else:
            if args.user is not None:
                prefixes, keys = await restore.user_scope(args.user)
                what = f"user {args.user}"
            else:
                prefixes, keys = await restore.residence_scope(args.residence)
                what = f"residence {args.residence}"
            report = await restore.restore_prefixes(services.storage, services.backup, prefixes, keys)
            if not (report.restored.count or report.already_present):
                return f"nothing in the backup for {what}", False
    sample = f"; e.g. {', '.join(report.restored.sample[:5])}" if report.restored.count else ""
    return (f"{what}: {report.restored.count} objects restored, {report.already_present} already present, "
            f"{report.rows_revived} media rows served again{sample}"), True


def cmd_storage_restore(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    _require_backup("restore", settings)
    try:
        line, found = asyncio.run(storage_restore(settings, args))
    except StorageError as exc:
        fail("restore", _describe(exc))
    if not found:
        fail("restore", line)
    print(line)


# storage verify-backup -----------------------------------------------------------------------------------


def cmd_storage_verify_backup(args: argparse.Namespace) -> None:
    from workers.restore import VerifyReport, verify_backup

    settings = settings_or_exit()
    _require_backup("verify-backup", settings)
    if args.show < 0:
        fail("verify-backup", "--show must be 0 or more")

    async def run() -> VerifyReport:
        async with open_services(settings, open_db=False) as services:
            assert services.backup is not None
            return await verify_backup(services.storage, services.backup)

    try:
        report = asyncio.run(run())
    except StorageError as exc:
        fail("verify-backup", _describe(exc))
    print(f"{report.objects} objects in the bucket: {report.missing.count} missing from the backup, "
          f"{report.different.count} different there; {report.retained} deleted objects kept in the backup")
    for label, tally in (("missing", report.missing), ("different", report.different)):
        for key in tally.sample[: args.show]:
            print(f"{label}  {key}")
    raise SystemExit(0 if report.ok else 1)
