"""What the admin console reads beyond users and emails: residences, the jobs' health, daily figures, the
audit log, and one user's facts (residences, storage, recent emails)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from honeydue import clock
from honeydue.errors import InvalidInput, NotFound
from honeydue.models import (
    AuditEntry,
    DeliveryStatus,
    EmailDelivery,
    JobRun,
    Media,
    MediaPurpose,
    MediaStatus,
    MediaVariant,
    Membership,
    NotificationChannel,
    NotificationDelivery,
    Residence,
    Task,
    TaskCompletion,
    User,
)
from resolvers.ids import as_id, reference_id

MAX_TIMESERIES_DAYS = 366
RECENT_EMAILS = 20


async def list_residences(search: str | None, offset: int, limit: int) -> tuple[list[Residence], int]:
    """Residences whose name or address contains ``search`` (any case), newest first."""
    query = Residence.all()
    if search and search.strip():
        term = search.strip()[:200]
        query = query.filter(Q(name__icontains=term) | Q(address__icontains=term))
    total = await query.count()
    rows = await query.order_by("-created_at", "id").offset(offset).limit(limit) if limit else []
    return list(rows), total


async def page_counts(residence_ids: list[object]) -> tuple[dict[str, int], dict[str, int]]:
    """Members and tasks per residence of a page, in two grouped statements (not two per row)."""
    if not residence_ids:
        return {}, {}
    members = await Membership.filter(residence_id__in=residence_ids).annotate(n=Count("id")) \
        .group_by("residence_id").values("residence_id", "n")
    tasks = await Task.filter(residence_id__in=residence_ids).annotate(n=Count("id")) \
        .group_by("residence_id").values("residence_id", "n")
    return ({str(r["residence_id"]): int(r["n"]) for r in members},
            {str(r["residence_id"]): int(r["n"]) for r in tasks})


async def get_residence(residence_id: object) -> Residence:
    residence = await Residence.get_or_none(id=as_id(residence_id))
    if residence is None:
        raise NotFound()
    return residence


async def members_of(residence_id: object) -> list[Membership]:
    """Every membership of the residence with its user, highest role... as stored: oldest first."""
    return list(await Membership.filter(residence_id=residence_id).select_related("user").order_by("created_at"))


async def memberships_of_user(user_id: object) -> list[Membership]:
    return list(await Membership.filter(user_id=user_id).select_related("residence").order_by("created_at"))


async def tasks_of(residence_id: object, limit: int = 100) -> tuple[list[Task], int]:
    query = Task.filter(residence_id=residence_id)
    return list(await query.order_by("-created_at").limit(limit)), await query.count()


@dataclass(frozen=True)
class Usage:
    purpose: MediaPurpose
    count: int
    bytes: int


async def usage_by_purpose(**scope: Any) -> list[Usage]:
    """READY files and their bytes per purpose, within ``scope`` (e.g. owner_id=..., residence_id=...)."""
    rows = await Media.filter(status=MediaStatus.READY, **scope).annotate(n=Count("id"), total=Sum("size")) \
        .group_by("purpose").values("purpose", "n", "total")
    return sorted((Usage(MediaPurpose(r["purpose"]), int(r["n"]), int(r["total"] or 0)) for r in rows),
                  key=lambda u: u.purpose.value)


async def recent_emails(user_id: object) -> list[EmailDelivery]:
    return list(await EmailDelivery.filter(user_id=user_id).order_by("-created_at").limit(RECENT_EMAILS))


# --- dashboard figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    verified_users: int
    disabled_users: int
    admins: int
    completions_7_days: int
    completions_30_days: int
    media_by_purpose: list[Usage]


async def figures() -> Figures:
    now = clock.utc_now()
    return Figures(
        verified_users=await User.filter(email_verified=True).count(),
        disabled_users=await User.filter(disabled=True).count(),
        admins=await User.filter(is_admin=True).count(),
        completions_7_days=await TaskCompletion.filter(completed_at__gte=now - timedelta(days=7)).count(),
        completions_30_days=await TaskCompletion.filter(completed_at__gte=now - timedelta(days=30)).count(),
        media_by_purpose=await usage_by_purpose(),
    )


class Metric(enum.Enum):
    """What ``admin.timeseries`` counts per day."""

    SIGNUPS = "SIGNUPS"
    COMPLETIONS = "COMPLETIONS"


_METRIC_COLUMNS = {Metric.SIGNUPS: ("users", "created_at"), Metric.COMPLETIONS: ("task_completions", "completed_at")}


async def timeseries(metric: Metric, days: int) -> list[tuple[date, int]]:
    """One (day, count) per UTC day of the last ``days`` days, today included, oldest first; 0 for quiet days.

    One grouped statement: rows are never fetched one by one, however many there are. INVALID_INPUT (top
    level) for ``days`` outside 1..366.
    """
    if not 1 <= days <= MAX_TIMESERIES_DAYS:
        raise InvalidInput(f"days must be from 1 to {MAX_TIMESERIES_DAYS}.")
    table, column = _METRIC_COLUMNS[metric]  # fixed names, never from input
    today = clock.utc_now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        sql = (f"SELECT to_char(({column} AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, COUNT(*) AS n "
               f"FROM {table} WHERE {column} >= $1 GROUP BY 1")
        rows = await connection.execute_query_dict(sql, [since])
    else:  # SQLite keeps UTC times as ISO text: the day is its first ten characters
        sql = f"SELECT substr({column}, 1, 10) AS day, COUNT(*) AS n FROM {table} WHERE {column} >= ? GROUP BY 1"
        rows = await connection.execute_query_dict(sql, [since.isoformat(sep=" ")])
    counts = {str(r["day"]): int(r["n"]) for r in rows}
    return [(first + timedelta(days=i), counts.get((first + timedelta(days=i)).isoformat(), 0))
            for i in range(days)]


# --- jobs ------------------------------------------------------------------------------------------------


async def job_runs() -> dict[str, JobRun]:
    return {run.name: run for run in await JobRun.all()}


# --- the audit log ---------------------------------------------------------------------------------------


async def audit_log(actor_id: object | None, target_id: object | None, offset: int,
                    limit: int) -> tuple[list[AuditEntry], int]:
    """Entries newest first, narrowed to an actor and/or a target (a malformed ID matches nothing)."""
    query = AuditEntry.all()
    if actor_id is not None:
        query = query.filter(actor_id=reference_id(actor_id))
    if target_id is not None:
        query = query.filter(target_id=str(target_id)[:64])
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").select_related("actor").offset(offset).limit(limit) \
        if limit else []
    return list(rows), total


# --- push, webhook and Apprise deliveries ------------------------------------------------------------------


async def list_deliveries(user_id: object | None, status: DeliveryStatus | None, offset: int,
                          limit: int) -> tuple[list[NotificationDelivery], int]:
    """The notification delivery log (push, webhooks, Apprise), newest first; narrowed to a user and/or status."""
    query = NotificationDelivery.all()
    if user_id is not None:
        query = query.filter(user_id=reference_id(user_id))
    if status is not None:
        query = query.filter(status=status)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").select_related("user").offset(offset).limit(limit) \
        if limit else []
    return list(rows), total


async def channels_of_user(user_id: object) -> list[NotificationChannel]:
    return list(await NotificationChannel.filter(user_id=user_id).order_by("created_at", "id").limit(100))


async def variant_usage() -> list[tuple[str, int, int]]:
    """(variant kind, count, bytes) of the derived files (thumbnails, previews, posters), by kind."""
    rows = await MediaVariant.all().annotate(n=Count("id"), total=Sum("size")).group_by("kind") \
        .values("kind", "n", "total")
    return sorted((str(getattr(r["kind"], "value", r["kind"])), int(r["n"]), int(r["total"] or 0)) for r in rows)
