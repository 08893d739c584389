"""``honeydue check-config``: the effective configuration (secrets masked), then one line per live check.

Run it in a pod (``kubectl exec deploy/api -- honeydue check-config``) after changing a Secret or
ConfigMap: it uses the very settings the service reads, so "works from my laptop" and "works from the pod"
stop being different questions. The checks are the ones a replica depends on: the database answers
``SELECT 1`` and has every migration this code ships (the API and gateway are not ready until it does),
Redis answers ``PING`` (when configured), the bucket lets this key list, write and delete (a probe
object under ``_honeydue-probe/``), and the push keys that are set parse (APNs .p8, the FCM service account,
VAPID; offline: nothing is sent). The exit code is 0 only when every check passed. Settings that work
but are probably not what the operator meant (``PUBLIC_GATEWAY_URL`` or ``PUBLIC_APP_URL`` unset) get a ``warn`` line.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from honeydue.logging_setup import redact
from honeydue.settings import Settings

MASK = "****"
SECRET_FIELDS = frozenset({"b2_app_key", "media_signing_key", "media_signing_key_previous", "smtp_password",
                           "apns_private_key", "vapid_private_key", "backup_app_key"})
URL_FIELDS = frozenset({"database_url", "redis_url"})
PROBE_PREFIX = "_honeydue-probe/"
CHECK_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    skipped: bool = False
    warning: bool = False

    def line(self) -> str:
        status = "skip" if self.skipped else "warn" if self.warning else "ok" if self.ok else "FAIL"
        return f"{status:<4}  {self.name:<10}  {self.detail}"


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``****``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def env_name(field: str) -> str:
    return field.upper()


def effective_configuration(settings: Settings) -> list[tuple[str, str]]:
    """(VARIABLE, shown value) for every setting, secrets masked; the database URL as actually used."""
    rows: list[tuple[str, str]] = []
    for field in type(settings).model_fields:
        value = settings.effective_database_url if field == "database_url" else getattr(settings, field)
        if value is None or value == "" or value == []:
            shown = "(unset)"
        elif field in SECRET_FIELDS:
            shown = MASK
        elif field in URL_FIELDS:
            shown = mask_url(str(value))
        elif isinstance(value, list):
            shown = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value)
        rows.append((env_name(field), shown))
    return rows


# Checks --------------------------------------------------------------------------------------------------


async def check_database(settings: Settings) -> CheckResult:
    from honeydue.db import close_db, init_db, ping_db

    where = mask_url(settings.effective_database_url)
    try:
        await init_db(settings)
        try:
            await ping_db()
        finally:
            await close_db()
    except Exception as exc:
        return CheckResult("database", False, f"{where}: {_describe(exc)}")
    return CheckResult("database", True, f"{where}: SELECT 1 answered")


async def check_migrations(settings: Settings) -> CheckResult:
    from honeydue.db import close_db, init_db
    from honeydue.migration_state import migrations_on_disk, pending_migrations

    try:
        await init_db(settings)
        try:
            pending = await pending_migrations()
        finally:
            await close_db()
    except Exception as exc:
        return CheckResult("migrations", False, f"could not read the applied migrations: {_describe(exc)}")
    if pending:
        return CheckResult("migrations", False, f"{len(pending)} pending: {', '.join(pending)} "
                                                "(run `honeydue migrate`; until then /readyz answers 503)")
    return CheckResult("migrations", True, f"all {len(migrations_on_disk())} applied")


def _public_url_check(check: str, configured: str | None, links: str, unset_detail: str) -> CheckResult:
    """A public address setting: passes either way, with a warning when unset (its default suits one machine)."""
    if configured:
        return CheckResult(check, True, f"{links} point at {configured}")
    return CheckResult(check, True, warning=True, detail=unset_detail)


def check_public_gateway_url(settings: Settings) -> CheckResult:
    return _public_url_check("links", settings.public_gateway_url, "media links",
                             f"PUBLIC_GATEWAY_URL unset: `honeydue api` hands out media links to "
                             f"{settings.effective_public_gateway_url} (the default address of `honeydue gateway`); "
                             "set it to where clients reach the gateway")


def check_public_app_url(settings: Settings) -> CheckResult:
    return _public_url_check("app-links", settings.public_app_url, "links in emails",
                             f"PUBLIC_APP_URL unset: links in emails (password reset, verification) point at "
                             f"{settings.effective_public_app_url} (the default address of `honeydue api`); set "
                             "it to where people reach the app")


async def check_redis(settings: Settings) -> CheckResult:
    if not settings.redis_url:
        return CheckResult("redis", True, "REDIS_URL unset: jobs run in process, no cache", skipped=True)
    import redis.asyncio as aioredis

    where = mask_url(settings.redis_url)
    client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        return CheckResult("redis", False, f"{where}: {_describe(exc)}")
    finally:
        await client.aclose()
    return CheckResult("redis", True, f"{where}: PING answered")


async def check_bucket(settings: Settings) -> CheckResult:
    from honeydue.storage import create_storage

    if settings.uses_s3:
        where = f"bucket {settings.b2_bucket_name} at {settings.b2_endpoint}"
    else:
        where = f"media directory {settings.media_dir}"
    probe = f"{PROBE_PREFIX}{uuid.uuid4()}"
    step = "open"
    storage = create_storage(settings)
    try:
        await storage.start()
        try:
            step = "list"
            async for _ in storage.list(PROBE_PREFIX):
                break
            step = f"put {probe}"
            await storage.put_bytes(probe, b"honeydue check-config probe\n", "text/plain")
            step = f"delete {probe}"
            await storage.delete(probe)
        finally:
            await storage.close()
    except Exception as exc:
        return CheckResult("bucket", False, f"{where}: {step} failed: {_describe(exc)}")
    return CheckResult("bucket", True, f"{where}: list, put and delete of a probe object succeeded")


def check_apns(settings: Settings) -> CheckResult:
    """APNs settings, offline: the .p8 key parses as a P-256 key and the IDs look like Apple's."""
    from honeydue.delivery.keys import KeyProblem, load_ec_private_key

    if not settings.apns_key_id:
        return CheckResult("apns", True, "APNS_* unset: no push to iOS", skipped=True)
    try:
        load_ec_private_key(settings.apns_private_key or "", "APNS_PRIVATE_KEY")
    except KeyProblem as exc:
        return CheckResult("apns", False, str(exc))
    odd = [name for name, value in (("APNS_KEY_ID", settings.apns_key_id), ("APNS_TEAM_ID", settings.apns_team_id))
           if not (value and len(value) == 10 and value.isalnum())]
    detail = (f"key {settings.apns_key_id} of team {settings.apns_team_id} parses; topic {settings.apns_topic}, "
              f"{settings.apns_environment}")
    if odd:
        return CheckResult("apns", True, f"{detail}; {' and '.join(odd)} should be 10 letters and digits",
                           warning=True)
    return CheckResult("apns", True, detail)


def check_fcm(settings: Settings) -> CheckResult:
    """FCM settings, offline: the service-account file is readable JSON with a key that parses."""
    from honeydue.delivery.keys import KeyProblem, load_service_account

    if not settings.fcm_credentials_file:
        return CheckResult("fcm", True, "FCM_* unset: no push to Android", skipped=True)
    try:
        info = load_service_account(settings.fcm_credentials_file)
    except KeyProblem as exc:
        return CheckResult("fcm", False, str(exc))
    detail = f"service account {info['client_email']} for project {settings.fcm_project_id}"
    if info.get("project_id") and info["project_id"] != settings.fcm_project_id:
        return CheckResult("fcm", True, f"{detail}; the key belongs to project {info['project_id']}: is "
                                        "FCM_PROJECT_ID right?", warning=True)
    return CheckResult("fcm", True, detail)


def check_webpush(settings: Settings) -> CheckResult:
    """VAPID settings, offline: the key parses; shows the public key browsers subscribe with."""
    from honeydue.delivery.keys import KeyProblem, load_ec_private_key, vapid_public_key

    if not settings.vapid_private_key:
        return CheckResult("webpush", True, "VAPID_* unset: no Web Push (vapidPublicKey is null)", skipped=True)
    try:
        key = load_ec_private_key(settings.vapid_private_key, "VAPID_PRIVATE_KEY", raw_allowed=True)
    except KeyProblem as exc:
        return CheckResult("webpush", False, str(exc))
    return CheckResult("webpush", True, f"VAPID key parses (public {vapid_public_key(key)}), subject "
                                        f"{settings.vapid_subject}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


async def _bounded(name: str, check: Callable[[Settings], Awaitable[CheckResult]], settings: Settings) -> CheckResult:
    try:
        return await asyncio.wait_for(check(settings), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check, one after the other (a failure does not stop the rest)."""
    database = await _bounded("database", check_database, settings)
    if database.ok:
        migrations = await _bounded("migrations", check_migrations, settings)
    else:
        migrations = CheckResult("migrations", True, "not checked: the database did not answer", skipped=True)
    return [
        database,
        migrations,
        await _bounded("redis", check_redis, settings),
        await _bounded("bucket", check_bucket, settings),
        check_public_gateway_url(settings),
        check_public_app_url(settings),
        check_apns(settings),
        check_fcm(settings),
        check_webpush(settings),
    ]


def check_config(settings: Settings, write: Callable[[str], None] = print) -> int:
    """Print the configuration and the checks; return the exit code (0 only if every check passed)."""
    write("effective configuration:")
    for name, shown in effective_configuration(settings):
        write(f"  {name}={shown}")
    write("checks:")
    results = asyncio.run(run_checks(settings))
    for result in results:
        write(f"  {result.line()}")
    failed = [r.name for r in results if not r.ok]
    write(f"check-config: {'all checks passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
    return 1 if failed else 0
