"""Data exports (GDPR right of access): asking for one, and listing the caller's."""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from honeydue import jobs
from honeydue.data_exports import EXPORT_INTERVAL, LISTED_EXPORTS
from honeydue.models import DataExport, DataExportStatus, User
from honeydue.user_errors import UserErrorCode, reject

log = logging.getLogger(__name__)

# The worker job that builds the zip (workers.actors); re-sent by sweep_data_exports if this send is lost.
BUILD_JOB = "build_data_export"


async def request_data_export(user: User, now: datetime) -> DataExport:
    """Record a PENDING export for ``user`` and send its build; EXPORT_LIMIT when one is in flight or too recent.

    The check and the insert run in one transaction that first locks the user's row (PostgreSQL; SQLite's
    transaction holds its only connection), so two requests at once cannot both pass the check.
    """
    async with in_transaction():
        await User.filter(id=user.id).select_for_update().get()
        mine = DataExport.filter(user_id=user.id)
        if await mine.filter(status=DataExportStatus.PENDING).exists():
            raise reject(UserErrorCode.EXPORT_LIMIT, "Your data export is already being prepared; you will get "
                                                     "an email and a notification when it is ready.")
        recent = await mine.filter(created_at__gt=now - EXPORT_INTERVAL).exclude(
            status=DataExportStatus.FAILED).order_by("-created_at").first()
        if recent is not None:
            again = recent.created_at + EXPORT_INTERVAL
            raise reject(UserErrorCode.EXPORT_LIMIT, "One data export a day: you can ask for the next one after "
                                                     f"{again:%Y-%m-%d %H:%M} UTC.")
        export = await DataExport.create(user_id=user.id, status=DataExportStatus.PENDING)
    if not jobs.enqueue(BUILD_JOB, str(export.id)):
        log.warning("data export %s left for the sweeper", export.id)
    return export


async def list_data_exports(user: User) -> list[DataExport]:
    """The user's exports, newest first, at most ``LISTED_EXPORTS``."""
    return await DataExport.filter(user_id=user.id).order_by("-created_at", "-id").limit(LISTED_EXPORTS)
