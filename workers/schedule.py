"""The periodic table: which actor runs when. Cron expressions are in UTC.

The reminder time is ``REMINDER_CRON`` (default 20:00 UTC daily); each reminder computes "today" in the
residence's own timezone at that instant.
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
    return [
        _job("send_due_reminders", settings.reminder_cron, "tasks due soon (lead times by frequency)"),
        _job("send_overdue_reminders", settings.reminder_cron, "overdue tasks (1, 2, 3, 6, 9, 12 days)"),
        _job("send_warranty_reminders", settings.reminder_cron, "documents expiring in 30 and 7 days"),
        _job("cleanup_pending_uploads", "7 * * * *", "stale PENDING and REJECTED uploads"),
        _job("sweep_account_purges", "*/10 * * * *", "re-send account purges not done"),
        _job("reconcile_storage", "30 3 * * *", "bucket vs media rows, report only"),
    ]
