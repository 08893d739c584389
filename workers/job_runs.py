"""Each periodic job's last runs in the database (``job_runs``), for ``admin.jobs`` and the console's job health.

The Prometheus counters (``workers.job_metrics``) say how often jobs ran and failed, per process since it
started; an operator asking "when did reconcile last succeed, and why did it fail last night?" needs the
instants and the error, kept across restarts and shared by every worker. So every run of a periodic actor
is wrapped (``recorded``): its start, its end, and either its success (with the summary the job returns, if
any) or its error. Writing the record never fails the job: a database hiccup is logged and the job goes on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from honeydue.clock import utc_now
from honeydue.models import JobRun

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


async def _write(name: str, **values: Any) -> None:
    try:
        updated = await JobRun.filter(name=name).update(**values)
        if not updated:
            await JobRun.create(name=name, **values)
    except Exception as exc:  # the record is for people; the job's own work matters more
        try:  # a concurrent first run created the row between the update and the insert
            await JobRun.filter(name=name).update(**values)
        except Exception:
            log.warning("could not record a run of %s: %s", name, exc.__class__.__name__)


def describe_error(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    return text[:MAX_ERROR_LENGTH]


def recorded(name: str, fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """``fn`` with its runs written to ``job_runs`` under ``name``."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        started: datetime = utc_now()
        await _write(name, last_started_at=started)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            ended = utc_now()
            await _write(name, last_finished_at=ended, last_error_at=ended, last_error=describe_error(exc))
            raise
        ended = utc_now()
        values: dict[str, Any] = {"last_finished_at": ended, "last_success_at": ended}
        if isinstance(result, dict):
            values["last_report"] = result
        await _write(name, **values)
        return result

    return run
