"""Operator subcommands: ``honeydue storage ls|du|get`` and ``honeydue check-config``.

``storage restore`` and ``storage verify-backup`` live in ``honeydue.backup_cli``.

They replace the old runbook's ``mc`` calls: the same bucket, the same credentials and the same backend
(B2/S3 or the local media directory) the service itself uses, read from the service's own settings, so
there is no second client to configure. ``honeydue.cli`` registers them through ``register``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, NoReturn

from honeydue.settings import Settings, settings_or_exit
from honeydue.storage import BucketNotFound, ObjectNotFound, Storage, StorageError, create_storage


def register(sub: argparse._SubParsersAction) -> None:
    storage = sub.add_parser("storage", help="list, measure and fetch objects in the configured bucket")
    commands = storage.add_subparsers(dest="storage_command", required=True, metavar="STORAGE_COMMAND")

    p = commands.add_parser("ls", help="list objects whose key starts with PREFIX: time, bytes, key")
    p.add_argument("prefix", metavar="PREFIX")
    p.set_defaults(func=cmd_storage_ls)

    p = commands.add_parser("du", help="object count and total bytes under PREFIX (default: everything)")
    p.add_argument("prefix", metavar="PREFIX", nargs="?", default="")
    p.set_defaults(func=cmd_storage_du)

    p = commands.add_parser("get", help="write object KEY to FILE (default: standard output)")
    p.add_argument("key", metavar="KEY")
    p.add_argument("file", metavar="FILE", nargs="?")
    p.set_defaults(func=cmd_storage_get)

    from honeydue import backup_cli

    backup_cli.register(commands)

    p = sub.add_parser("check-config",
                       help="print the effective configuration (secrets masked); check database, Redis, bucket")
    p.set_defaults(func=cmd_check_config)



def fail(command: str, message: str) -> NoReturn:
    """End ``honeydue storage COMMAND`` with one line on standard error and exit status 1."""
    print(f"honeydue storage {command}: {message}", file=sys.stderr)
    raise SystemExit(1)


def describe(exc: StorageError, bucket_settings: str = "B2_BUCKET_NAME") -> str:
    """``exc`` in one line; a missing bucket names the settings that name it (``bucket_settings``)."""
    if isinstance(exc, BucketNotFound):
        return f"bucket not found: {exc.bucket} ({bucket_settings}; bucket names are case-sensitive)"
    return f"{type(exc).__name__}: {exc}"


async def _with_storage(settings: Settings) -> AsyncIterator[Storage]:
    storage = create_storage(settings)
    await storage.start()
    try:
        yield storage
    finally:
        await storage.close()


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# storage ls ----------------------------------------------------------------------------------------------


async def storage_ls(settings: Settings, prefix: str) -> int:
    count = 0
    async for storage in _with_storage(settings):
        async for info in storage.list(prefix):
            stamp = info.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{stamp}  {info.size:>12}  {info.key}")
            count += 1
    return count


def cmd_storage_ls(args: argparse.Namespace) -> None:
    try:
        asyncio.run(storage_ls(settings_or_exit(), args.prefix))
    except StorageError as exc:
        fail("ls", describe(exc))


# storage du ----------------------------------------------------------------------------------------------


async def storage_du(settings: Settings, prefix: str) -> tuple[int, int]:
    count = total = 0
    async for storage in _with_storage(settings):
        async for info in storage.list(prefix):
            count += 1
            total += info.size
    return count, total


def cmd_storage_du(args: argparse.Namespace) -> None:
    try:
        count, total = asyncio.run(storage_du(settings_or_exit(), args.prefix))
    except StorageError as exc:
        fail("du", describe(exc))
    print(f"{count} objects  {total} bytes ({human_bytes(total)})  {args.prefix or '(whole bucket)'}")


# storage get ---------------------------------------------------------------------------------------------


async def storage_get(settings: Settings, key: str, out: BinaryIO) -> int:
    """Stream object ``key`` into ``out``; returns the bytes written."""
    written = 0
    async for storage in _with_storage(settings):
        stream = await storage.open(key)
        try:
            async for chunk in stream.chunks:
                out.write(chunk)
                written += len(chunk)
        finally:
            await stream.aclose()
    return written


def cmd_storage_get(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    to_stdout = args.file is None or args.file == "-"
    try:
        if to_stdout:
            asyncio.run(storage_get(settings, args.key, sys.stdout.buffer))
            sys.stdout.buffer.flush()
            return
        target = Path(args.file)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            # Opened before anything is fetched: an unwritable FILE fails at once, and costs no download.
            with partial.open("wb") as out:
                written = asyncio.run(storage_get(settings, args.key, out))
            partial.replace(target)  # a failed download never leaves a truncated FILE behind
        finally:
            partial.unlink(missing_ok=True)
        print(f"wrote {written} bytes to {target}", file=sys.stderr)
    except ObjectNotFound:
        fail("get", f"no such object: {args.key}")
    except StorageError as exc:
        fail("get", describe(exc))
    except OSError as exc:  # the store's own failures are StorageErrors, so this is the local side
        fail("get", f"cannot write {'standard output' if to_stdout else args.file}: {exc.strerror or exc}")


# check-config --------------------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> None:
    from honeydue.check_config import check_config

    raise SystemExit(check_config(settings_or_exit()))
