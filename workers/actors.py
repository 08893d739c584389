"""The Dramatiq actors: thin, idempotent adapters from a message to the job functions.

Actors are declared on a given broker by ``declare_actors`` (not with a module-level decorator) so one
process can build the broker it needs (Redis, or in-process when embedded) before any actor exists. Senders
address actors by name (``honeydue.jobs``), so nothing imports this module to send. Each actor reaches the
process's services (``honeydue.services.Services``) through ``current_services()``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq

from honeydue import generated_files
from honeydue.clock import utc_now
from honeydue.delivery import attempt as notification_delivery
from honeydue.jobs import QUEUE, send_job
from honeydue.mail import delivery
from honeydue.mail.outbox import SEND_EMAIL_JOB
from honeydue.mail.transport import transport_from_settings
from honeydue.media_variants import job as media_variants_job
from workers import backup, cleanup, data_exports, notifications, onboarding, purge, reconcile, reminders
from workers.broker import current_services

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


def run_instant(at: str | None) -> datetime:
    """The instant a run is for: the scheduler's fire time, else now (``honeydue jobs run``).

    Reminders depend on it (whose chosen hour it is, which local day): a message processed late, after a
    backlog or a worker outage, still serves the hour it was scheduled for instead of skipping it.
    """
    return datetime.fromisoformat(at).astimezone(UTC) if at else utc_now()


async def send_due_reminders(at: str | None = None) -> None:
    await reminders.send_due_reminders(run_instant(at), current_services().channels)


async def send_overdue_reminders(at: str | None = None) -> None:
    await reminders.send_overdue_reminders(run_instant(at), current_services().channels)


async def send_warranty_reminders(at: str | None = None) -> None:
    await reminders.send_warranty_reminders(run_instant(at), current_services().channels)


async def send_notifications(ids: list[str]) -> None:
    await notifications.send_notifications(ids, current_services().channels)


async def cleanup_pending_uploads(at: str | None = None) -> None:
    services = current_services()
    max_age = timedelta(hours=services.settings.pending_upload_max_age_hours)
    # Ages count from now, not from the tick: a late run must not spare uploads that are already stale.
    await cleanup.cleanup_pending_uploads(services.storage, utc_now(), max_age)


async def expire_idempotency_keys(at: str | None = None) -> None:
    await cleanup.expire_idempotency_keys(utc_now())


async def expire_action_tokens(at: str | None = None) -> None:
    await cleanup.expire_action_tokens(utc_now())


async def expire_account_tokens(at: str | None = None) -> None:
    await cleanup.expire_account_tokens(utc_now())


async def expire_generated_files(at: str | None = None) -> None:
    """The one clean-up of generated files: data exports past their 7 days (zip and media row deleted, export
    marked EXPIRED), then residence exports and reports past their link. From now, not from the tick: a late
    run must not keep files that have expired since."""
    storage, now = current_services().storage, utc_now()
    await data_exports.expire_data_exports(storage, now)
    await generated_files.expire_generated_files(storage, now)


async def purge_account(purge_id: str) -> None:
    services = current_services()
    await purge.purge_account(uuid.UUID(purge_id), services.storage, utc_now(), backup=services.backup)


async def sweep_account_purges(at: str | None = None) -> None:
    broker = current_services().broker
    assert broker is not None  # every process that runs actors carries its broker
    await purge.sweep_account_purges(utc_now(), lambda pid: send_job(broker, "purge_account", pid))


async def send_email(delivery_id: str) -> None:
    """One attempt at one queued email (``honeydue.mail.outbox.queue_email``); schedules the next if it failed."""
    services = current_services()
    result = await delivery.attempt_delivery(
        uuid.UUID(delivery_id), settings=services.settings, transport=transport_from_settings(services.settings),
        signing_keys=services.signing_keys,
    )
    if result.retry_in is not None:
        broker = services.broker
        assert broker is not None  # every process that runs actors carries its broker
        try:
            send_job(broker, SEND_EMAIL_JOB, delivery_id, delay_ms=int(result.retry_in * 1000))
        except Exception as exc:  # the row is QUEUED with its due time: the sweeper sends it
            log.warning("could not schedule the next attempt of email %s: %s", delivery_id, exc.__class__.__name__)


async def send_notification_delivery(delivery_id: str) -> None:
    """One attempt at one webhook, Apprise or push delivery (``honeydue.delivery``); schedules the next if due."""
    services = current_services()
    result = await notification_delivery.attempt_delivery(uuid.UUID(delivery_id), settings=services.settings)
    if result.retry_in is not None:
        broker = services.broker
        assert broker is not None  # every process that runs actors carries its broker
        try:
            send_job(broker, notification_delivery.SEND_DELIVERY_JOB, delivery_id,
                     delay_ms=int(result.retry_in * 1000))
        except Exception as exc:  # the row is QUEUED with its due time: the sweeper sends it
            log.warning("could not schedule the next attempt of delivery %s: %s", delivery_id,
                        exc.__class__.__name__)


async def sweep_notification_deliveries(at: str | None = None) -> None:
    broker = current_services().broker
    assert broker is not None
    await notification_delivery.sweep_deliveries(
        utc_now(), lambda did: send_job(broker, notification_delivery.SEND_DELIVERY_JOB, did))


async def sweep_email_outbox(at: str | None = None) -> None:
    broker = current_services().broker
    assert broker is not None
    await delivery.sweep_email_outbox(utc_now(), lambda did: send_job(broker, SEND_EMAIL_JOB, did))


async def send_onboarding_emails(at: str | None = None) -> None:
    await onboarding.send_onboarding_emails(run_instant(at))


async def build_data_export(export_id: str) -> None:
    services = current_services()
    links = data_exports.ExportLinks(services.signing_keys, services.settings.effective_public_gateway_url)
    await data_exports.build_data_export(export_id, services.storage, links)


async def sweep_data_exports(at: str | None = None) -> None:
    broker = current_services().broker
    assert broker is not None  # every process that runs actors carries its broker
    await data_exports.sweep_data_exports(utc_now(), lambda eid: send_job(broker, "build_data_export", eid))


async def send_password_reset(email: str) -> None:
    # Sent by every requestPasswordReset, known address or not: the lookup happens here, off the request.
    from resolvers.account_links import send_password_reset as send

    await send(current_services().settings, email)


async def make_media_variants(media_id: str) -> None:
    await media_variants_job.make_media_variants(media_id, current_services().storage)


async def sweep_media_variants(at: str | None = None) -> None:
    broker = current_services().broker
    assert broker is not None  # every process that runs actors carries its broker
    await media_variants_job.sweep_media_variants(
        utc_now(), lambda media_id: send_job(broker, media_variants_job.JOB, media_id))


async def reconcile_storage(fix: bool = False, at: str | None = None) -> dict[str, Any]:
    report = await reconcile.reconcile_storage(current_services().storage, utc_now(), fix=fix)
    return reconcile.summary(report)  # kept in job_runs for the admin console's Storage screen


async def backup_storage(at: str | None = None) -> dict[str, Any]:
    services = current_services()
    if services.backup is None:
        log.info("storage backup: off (BACKUP_ENDPOINT is unset)")
        return {"configured": False}
    # Retention counts from now, like the upload cleanup: a late run must not keep expired copies longer.
    report = await backup.backup_storage(services.storage, services.backup, utc_now(),
                                         retention=timedelta(days=services.settings.backup_retention_days))
    return backup.summary(report)  # kept in job_runs for the admin console's Storage screen


# name -> (function, actor options). Time limits are generous: the work is I/O bound and idempotent, and a
# job cut short is retried from the start.
ACTORS: dict[str, tuple[Callable[..., Coroutine[Any, Any, Any]], dict[str, Any]]] = {
    "send_due_reminders": (send_due_reminders, {"time_limit": HOUR_MS}),
    "send_overdue_reminders": (send_overdue_reminders, {"time_limit": HOUR_MS}),
    "send_warranty_reminders": (send_warranty_reminders, {"time_limit": HOUR_MS}),
    # Channels are tried once (see workers.notifications): a retry would repeat emails already sent.
    "send_notifications": (send_notifications, {"time_limit": 10 * 60_000, "max_retries": 0}),
    "cleanup_pending_uploads": (cleanup_pending_uploads, {"time_limit": HOUR_MS}),
    "expire_idempotency_keys": (expire_idempotency_keys, {"time_limit": HOUR_MS}),
    "expire_generated_files": (expire_generated_files, {"time_limit": HOUR_MS}),
    "expire_action_tokens": (expire_action_tokens, {"time_limit": HOUR_MS}),
    "expire_account_tokens": (expire_account_tokens, {"time_limit": HOUR_MS}),
    "purge_account": (purge_account, {"time_limit": 4 * HOUR_MS}),
    "sweep_account_purges": (sweep_account_purges, {"time_limit": 10 * 60_000}),
    "reconcile_storage": (reconcile_storage, {"time_limit": 4 * HOUR_MS}),
    # A first run copies the whole bucket; an interrupted one resumes where it stopped (copied keys match).
    "backup_storage": (backup_storage, {"time_limit": 12 * HOUR_MS}),
    # Shorter than delivery.LEASE (10 min), so a running attempt always holds its row's claim; longer than the
    # handful of SMTP commands of one attempt at SMTP_TIMEOUT_SECONDS (at most 60) each.
    SEND_EMAIL_JOB: (send_email, {"time_limit": 8 * 60_000}),
    "sweep_email_outbox": (sweep_email_outbox, {"time_limit": 10 * 60_000}),
    # Shorter than attempt.LEASE (6 min); one attempt is bounded by 4 x DELIVERY_TIMEOUT_SECONDS + 5 s (at most
    # 245 s). Retries are the row's (a delayed message per attempt), not Dramatiq's.
    notification_delivery.SEND_DELIVERY_JOB: (send_notification_delivery, {"time_limit": 5 * 60_000,
                                                                           "max_retries": 0}),
    "sweep_notification_deliveries": (sweep_notification_deliveries, {"time_limit": 10 * 60_000}),
    "send_onboarding_emails": (send_onboarding_emails, {"time_limit": HOUR_MS}),
    # Sent once: a failed build is re-sent by sweep_data_exports (its claim's lease is this time limit).
    "build_data_export": (build_data_export, {"time_limit": HOUR_MS, "max_retries": 0}),
    "sweep_data_exports": (sweep_data_exports, {"time_limit": 10 * 60_000}),
    "send_password_reset": (send_password_reset, {"time_limit": 5 * 60_000}),
    # Retried with backoff; the job records the last failure itself (media.variants_status FAILED).
    media_variants_job.JOB: (make_media_variants, {
        "time_limit": 10 * 60_000, "max_retries": media_variants_job.MAX_ATTEMPTS - 1,
        "min_backoff": 10_000, "max_backoff": 5 * 60_000}),
    "sweep_media_variants": (sweep_media_variants, {"time_limit": 10 * 60_000}),
}


def declare_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    from workers.job_runs import recorded
    from workers.schedule import periodic_job_names

    # The periodic jobs' runs are written to job_runs (admin.jobs); the others (one per email, purge, export)
    # are too many and have their own durable records.
    periodic = periodic_job_names()
    return {
        name: dramatiq.actor(actor_name=name, queue_name=QUEUE, broker=broker, **options)(
            recorded(name, fn) if name in periodic else fn)
        for name, (fn, options) in ACTORS.items()
    }

