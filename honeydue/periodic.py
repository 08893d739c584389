"""The periodic table as the API sees it: each job's name, what it does and when it runs next.

The table itself lives with the scheduler (``workers.schedule``); the API reads it for ``admin.jobs`` and
``adminRunJob``. Imported lazily, as ``honeydue.services`` reaches the notification channels: the API
process carries the workers package anyway (it sends their jobs), but nothing of it runs here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from honeydue.settings import Settings


@dataclass(frozen=True)
class PeriodicJobInfo:
    name: str
    actor_name: str
    cron: str
    description: str
    next_run_at: datetime | None


def periodic_job_table(settings: Settings, now: datetime) -> list[PeriodicJobInfo]:
    from workers.schedule import periodic_jobs

    return [PeriodicJobInfo(job.name, job.actor_name, job.cron, job.description,
                            job.trigger.get_next_fire_time(None, now)) for job in periodic_jobs(settings)]
