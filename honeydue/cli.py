"""The ``honeydue`` command: one subcommand per process kind, plus operator tools."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from honeydue.settings import ConfigError, Settings, settings_or_exit

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from honeydue.serving import Server

log = logging.getLogger("honeydue")



def _serve(app_factory: Callable[[Settings], ASGIApp], settings: Settings, host: str, port: int,
           server: Server = "uvicorn") -> None:
    from honeydue.logging_setup import configure_logging
    from honeydue.serving import serve

    configure_logging(settings)
    app = app_factory(settings)
    serve(app, host, port, server)


def serve_link_defaults(settings: Settings, host: str, port: int) -> dict[str, str]:
    """The link bases ``honeydue serve`` sets when unset: one process serves the API, the media and the account
    pages, so by default every link it hands out (media, and the pages its emails link to) names its address."""
    unset = [name for name, value in (("PUBLIC_GATEWAY_URL", settings.public_gateway_url),
                                       ("PUBLIC_APP_URL", settings.public_app_url)) if not value]
    if not unset:
        return {}
    # Links must name an address clients can reach; a wildcard bind address is not one.
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if reachable != host:
        log.warning("links will use http://%s:%s; set %s for other devices", reachable, port, " and ".join(unset))
    return {name: f"http://{reachable}:{port}" for name in unset}


def cmd_serve(args: argparse.Namespace) -> None:
    from honeydue import db
    from honeydue.app import create_embedded_app
    from honeydue.logging_setup import configure_logging

    settings = settings_or_exit()
    defaults = serve_link_defaults(settings, args.host, args.port)
    if defaults:
        os.environ.update(defaults)
        from honeydue.settings import reset_settings_cache

        reset_settings_cache()
        settings = settings_or_exit()
    configure_logging(settings)
    applied = asyncio.run(db.migrate(settings))
    log.info("migrations applied: %s", applied or "none pending")
    print(f"honeydue serving on http://{args.host}:{args.port}/graphql (GraphiQL in a browser)", flush=True)
    _serve(create_embedded_app, settings, args.host, args.port)


def cmd_api(args: argparse.Namespace) -> None:
    from honeydue.app import create_api_app
    from honeydue.logging_setup import configure_logging

    settings = settings_or_exit()
    configure_logging(settings)
    if not settings.public_gateway_url:
        # Said once, at start: a link to a port nothing listens on is otherwise a puzzle for the client.
        log.warning("PUBLIC_GATEWAY_URL is unset: media links point at %s, where `honeydue gateway` listens "
                    "by default", settings.effective_public_gateway_url)
    if not settings.public_app_url:
        log.warning("PUBLIC_APP_URL is unset: links in emails (password reset, verification) point at %s",
                    settings.effective_public_app_url)
    _serve(create_api_app, settings, args.host, args.port)


def cmd_gateway(args: argparse.Namespace) -> None:
    from gateway.app import create_gateway_app

    settings = settings_or_exit()
    _serve(create_gateway_app, settings, args.host, args.port, settings.gateway_server)


def cmd_worker(args: argparse.Namespace) -> None:
    from honeydue.logging_setup import configure_logging
    from workers.cli import run_worker

    settings = settings_or_exit()
    configure_logging(settings)
    try:
        code = run_worker(settings, processes=args.processes, threads=args.threads, metrics_port=args.metrics_port)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code)


def cmd_scheduler(args: argparse.Namespace) -> None:
    from honeydue.logging_setup import configure_logging
    from workers.cli import run_scheduler

    settings = settings_or_exit()
    configure_logging(settings)
    try:
        run_scheduler(settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def cmd_jobs_list(args: argparse.Namespace) -> None:
    from workers.cli import list_jobs

    for name, schedule in list_jobs(settings_or_exit()):
        print(f"{name:28} {schedule}")


def cmd_jobs_run(args: argparse.Namespace) -> None:
    from honeydue.logging_setup import configure_logging
    from workers.cli import run_job_now

    settings = settings_or_exit()
    configure_logging(settings)
    kwargs = {"fix": True} if args.fix else {}
    if args.fix and args.name != "reconcile_storage":
        print("jobs run: --fix only applies to reconcile_storage", file=sys.stderr)
        raise SystemExit(2)
    if args.name == "backup_storage" and not settings.uses_backup:
        print("jobs run: backup_storage needs a backup bucket: set BACKUP_ENDPOINT, BACKUP_BUCKET_NAME, "
              "BACKUP_KEY_ID and BACKUP_APP_KEY", file=sys.stderr)
        raise SystemExit(2)
    try:
        print(run_job_now(settings, args.name, **kwargs))
    except KeyError as exc:
        print(f"jobs run: {exc.args[0]}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_migrate(args: argparse.Namespace) -> None:
    from honeydue import db
    from honeydue.logging_setup import configure_logging

    settings = settings_or_exit()
    configure_logging(settings)
    applied = asyncio.run(db.migrate(settings))
    print(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")


def cmd_createadmin(args: argparse.Namespace) -> None:
    from honeydue.db import close_db, init_db
    from honeydue.models import User
    from honeydue.user_errors import Rejection, attempt
    from resolvers.admin import AdminOutcome, create_admin, find_user

    settings = settings_or_exit()
    given = args.password or os.environ.get("HONEYDUE_ADMIN_PASSWORD") or None

    async def run() -> tuple[User, AdminOutcome] | Rejection:
        await init_db(settings)
        try:
            password = given
            # Only a new account needs a password: an existing one is promoted as it is, unless one was given.
            if password is None and await find_user(args.email) is None:
                if not sys.stdin.isatty():
                    raise _NoPassword()
                password = await asyncio.to_thread(getpass.getpass, "Password: ")
            return await attempt(create_admin(args.email, password, args.display_name or args.email.split("@")[0]))
        finally:
            await close_db()

    try:
        result = asyncio.run(run())
    except _NoPassword:
        print(f"createadmin: {args.email} is a new account and there is no terminal to ask for its password: "
              "pass --password PASSWORD or set HONEYDUE_ADMIN_PASSWORD", file=sys.stderr)
        raise SystemExit(1) from None
    if isinstance(result, Rejection):
        print(f"createadmin: {'; '.join(error.message for error in result.errors)}", file=sys.stderr)
        raise SystemExit(1)
    user, outcome = result
    print(f"admin {user.email} ({user.id}) is ready: {outcome.value}")


class _NoPassword(Exception):
    """A new admin account, no password given, and no terminal to ask on."""


def cmd_export_schema(args: argparse.Namespace) -> None:
    from schema import schema

    text = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)


def cmd_generate_vapid_keys(args: argparse.Namespace) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from honeydue.delivery.keys import vapid_public_key, vapid_raw_private_key

    key = ec.generate_private_key(ec.SECP256R1())
    print(f"VAPID_PRIVATE_KEY={vapid_raw_private_key(key)}")
    print(f"# public key (what vapidPublicKey answers, the browsers' applicationServerKey): {vapid_public_key(key)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="honeydue", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def serving(name: str, func: Callable, port: int, help_text: str) -> None:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=port)
        p.set_defaults(func=func)

    serving("serve", cmd_serve, 8000, "embedded all-in-one: API, gateway and jobs on one port (SQLite default)")
    serving("api", cmd_api, 8000, "the GraphQL API (production; run `migrate` first)")
    serving("gateway", cmd_gateway, 8001, "the media gateway (production)")

    p = sub.add_parser("worker", help="run Dramatiq worker processes (needs REDIS_URL)")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="send periodic jobs; any number of replicas, one leads (needs REDIS_URL)")
    p.set_defaults(func=cmd_scheduler)

    jobs = sub.add_parser("jobs", help="list the periodic jobs, or enqueue one now").add_subparsers(
        dest="jobs_command", required=True, metavar="ACTION")
    p = jobs.add_parser("list", help="each periodic job and its schedule")
    p.set_defaults(func=cmd_jobs_list)
    p = jobs.add_parser("run", help="enqueue a job now (runs it in this process without REDIS_URL)")
    p.add_argument("name")
    p.add_argument("--fix", action="store_true", help="reconcile_storage: delete orphan objects older than a day")
    p.set_defaults(func=cmd_jobs_run)

    p = sub.add_parser("migrate", help="apply database migrations (under a PostgreSQL advisory lock)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("createadmin", help="create an admin user, or make an existing user admin")
    p.add_argument("email")
    p.add_argument("--display-name")
    p.add_argument("--password", help="default: $HONEYDUE_ADMIN_PASSWORD, else asked for at a terminal; "
                   "given for an existing user, it is set and that user's sessions end")
    p.set_defaults(func=cmd_createadmin)

    p = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_export_schema)

    p = sub.add_parser("generate-vapid-keys", help="print a new Web Push VAPID key pair (docs/push.md)")
    p.set_defaults(func=cmd_generate_vapid_keys)

    from honeydue import ops_cli

    ops_cli.register(sub)  # storage ls/du/get and check-config
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
