"""The periodic table: which actor runs when. Cron expressions are in UTC.

The reminder jobs run on ``REMINDER_CRON`` (hourly by default): each run delivers a type's reminders to the
members whose preference hour for it is the current hour in the residence's timezone (20:00 local when unset),
and computes "today" in that timezone at that instant (``workers.reminders``). A cron slower than hourly
reaches only the members whose hour it hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from apscheduler.triggers.cron import CronTrigger

from honeydue.settings import Settings


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    actor_name: str
    cron: str
    trigger: CronTrigger
    description: str


def _job(name: str, cron: str, description: str, actor_name: str | None = None) -> PeriodicJob:
    return PeriodicJob(name, actor_name or name, cron, CronTrigger.from_crontab(cron, timezone=UTC), description)


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    reminders = settings.reminder_cron
    return [
        _job("send_due_reminders", reminders, "tasks due soon (lead times by frequency), at each member's hour"),
        _job("send_overdue_reminders", reminders, "overdue tasks (1, 2, 3, 6, 9, 12 days), at each member's hour"),
        _job("send_warranty_reminders", reminders, "documents expiring in 30 and 7 days, at each owner's hour"),
        _job("cleanup_pending_uploads", "7 * * * *", "stale PENDING and REJECTED uploads"),
        _job("expire_idempotency_keys", "17 * * * *", "idempotency keys past their 24 h window"),
        _job("expire_generated_files", "27 * * * *",
             "delete generated files past their link (data exports, residence exports, reports)"),
        _job("expire_action_tokens", "37 * * * *", "reminders' Done and Snooze links a week past their expiry"),
        _job("expire_account_tokens", "47 * * * *",
             "password reset, verification and email change links a week after use or expiry"),
        _job("sweep_account_purges", "*/10 * * * *", "re-send account purges not done"),
        _job("sweep_data_exports", "5-59/10 * * * *", "re-send data export builds lost or stuck"),
        _job("sweep_media_variants", "3-59/10 * * * *", "re-send lost image variant jobs; backfill older images"),
        _job("reconcile_storage", "30 3 * * *", "bucket vs media rows, report only"),
        _job("backup_storage", "45 * * * *",
             "copy new and changed objects to the backup bucket; drop copies deleted over BACKUP_RETENTION_DAYS ago"
             if settings.uses_backup else "backup bucket copy (off: BACKUP_ENDPOINT is unset)"),
        _job("sweep_email_outbox", "*/10 * * * *", "re-send queued emails whose job message was lost"),
        _job("sweep_notification_deliveries", "2-59/10 * * * *",
             "re-send queued webhook, Apprise and push deliveries whose job message was lost"),
        _job("send_onboarding_emails", "0 16 * * *",
             "welcome (verified), add your home (day 2), add your first task (day 5); each once per user"),
    ]


def periodic_job_names() -> frozenset[str]:
    """The actor names the scheduler sends (whatever the settings: they change crons and texts, not names)."""
    return frozenset(job.actor_name for job in periodic_jobs(Settings.model_construct()))
