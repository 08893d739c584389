"""Per-request DataLoaders for every relation the domain types expose, so a page costs a fixed number of queries.

Each ``load_*`` function takes the request's Context and one key and returns what the field needs; the
batch function behind it answers every key asked for in the same tick with one or two queries. Paged
relations (a residence's tasks, a task's completions) are batched too: ``paged_by_parent`` numbers the
rows of each parent with ``ROW_NUMBER()`` and keeps the wanted window of every parent in one statement.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import RawSQL
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet

from honeydue import clock, models
from honeydue.clock import utc_now
from honeydue.tokens import live_tokens_of
from resolvers import contractors as contractor_rules
from resolvers import tasks as task_rules
from schema.context import Context

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    total: int


async def paged_by_parent(
    queryset: QuerySet[M], parent_column: str, order_sql: str, parent_ids: Sequence[uuid.UUID], offset: int,
    limit: int,
) -> dict[uuid.UUID, Page[M]]:
    """Rows ``offset .. offset+limit`` of each parent's children, and each parent's total, in two statements.

    ``queryset`` must already be restricted to ``parent_ids``; ``parent_column`` and ``order_sql`` are
    trusted column names from this module, never client input. The filter values stay bound parameters of
    the inner query (a contractor search is free text), and the outer statement adds only integers.
    """
    model: type[M] = queryset.model
    counts = await queryset.annotate(_n=Count("id")).group_by(parent_column).values(parent_column, "_n")
    totals: dict[Any, int] = {row[parent_column]: row["_n"] for row in counts}
    rows: list[M] = []
    if limit > 0 and totals:
        ranked = queryset.annotate(
            _rn=RawSQL(f"ROW_NUMBER() OVER (PARTITION BY {parent_column} ORDER BY {order_sql})")
        )
        ranked.sql()  # builds the query for the connection it runs on (a transaction's, if any)
        inner, params = ranked.query.get_parameterized_sql()
        executor = ranked._db.executor_class(model=model, db=ranked._db)
        rows = await executor.execute_select(
            f"SELECT * FROM ({inner}) AS ranked WHERE _rn > {int(offset)} AND _rn <= {int(offset) + int(limit)} "
            f"ORDER BY {parent_column}, _rn", params,
        )
    by_parent: dict[Any, list[M]] = defaultdict(list)
    for row in rows:
        by_parent[getattr(row, parent_column)].append(row)
    return {pid: Page(rows=by_parent.get(pid, []), total=totals.get(pid, 0)) for pid in parent_ids}


def _loader(ctx: Context, name: str, batch: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]) -> Any:
    return ctx.loader(name, batch)


def _rows_by_id(model: type[M]) -> Callable[[Sequence[uuid.UUID]], Awaitable[list[M | None]]]:
    async def batch(ids: Sequence[uuid.UUID]) -> list[M | None]:
        found = {row.pk: row for row in await model.filter(id__in=list(ids))}
        return [found.get(i) for i in ids]

    return batch


async def load_user(ctx: Context, user_id: uuid.UUID | None) -> models.User | None:
    return None if user_id is None else await _loader(ctx, "user", _rows_by_id(models.User)).load(user_id)


async def load_residence(ctx: Context, residence_id: uuid.UUID) -> models.Residence | None:
    return await _loader(ctx, "residence", _rows_by_id(models.Residence)).load(residence_id)


async def load_task(ctx: Context, task_id: uuid.UUID | None) -> models.Task | None:
    return None if task_id is None else await _loader(ctx, "task", _rows_by_id(models.Task)).load(task_id)


async def load_document(ctx: Context, document_id: uuid.UUID | None) -> models.Document | None:
    if document_id is None:
        return None
    return await _loader(ctx, "document", _rows_by_id(models.Document)).load(document_id)


async def load_contractor(ctx: Context, contractor_id: uuid.UUID | None) -> models.Contractor | None:
    if contractor_id is None:
        return None
    return await _loader(ctx, "contractor", _rows_by_id(models.Contractor)).load(contractor_id)


async def load_my_role(ctx: Context, residence_id: uuid.UUID) -> models.ResidenceRole | None:
    """The caller's role in a residence (None when not a member)."""
    user = ctx.require_user()

    async def batch(ids: Sequence[uuid.UUID]) -> list[models.ResidenceRole | None]:
        rows = await models.Membership.filter(user_id=user.id, residence_id__in=list(ids))
        roles = {row.residence_id: row.role for row in rows}
        return [roles.get(i) for i in ids]

    return await _loader(ctx, "my_role", batch).load(residence_id)


async def load_members(ctx: Context, residence_id: uuid.UUID) -> list[models.Membership]:
    async def batch(ids: Sequence[uuid.UUID]) -> list[list[models.Membership]]:
        grouped: dict[uuid.UUID, list[models.Membership]] = defaultdict(list)
        for row in await models.Membership.filter(residence_id__in=list(ids)).order_by("created_at", "id"):
            grouped[row.residence_id].append(row)
        return [grouped.get(i, []) for i in ids]

    return await _loader(ctx, "members", batch).load(residence_id)


async def load_rotation_members(ctx: Context, task_id: uuid.UUID) -> list[uuid.UUID]:
    """The user IDs of a task's rotation, in rotation order (empty for FIXED)."""

    async def batch(ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
        grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        rows = models.TaskRotationMember.filter(task_id__in=list(ids)).order_by("task_id", "position")
        for task_id, user_id in await rows.values_list("task_id", "user_id"):
            grouped[task_id].append(user_id)
        return [grouped.get(i, []) for i in ids]

    return await _loader(ctx, "rotation_members", batch).load(task_id)


def _ready_media_by(column: str) -> Callable[[Sequence[uuid.UUID]], Awaitable[list[list[models.Media]]]]:
    async def batch(ids: Sequence[uuid.UUID]) -> list[list[models.Media]]:
        grouped: dict[uuid.UUID, list[models.Media]] = defaultdict(list)
        rows = models.Media.filter(**{f"{column}__in": list(ids)}, status=models.MediaStatus.READY)
        for row in await rows.order_by("created_at", "id"):
            grouped[getattr(row, column)].append(row)
        return [grouped.get(i, []) for i in ids]

    return batch


async def load_completion_photos(ctx: Context, completion_id: uuid.UUID) -> list[models.Media]:
    return await _loader(ctx, "completion_photos", _ready_media_by("completion_id")).load(completion_id)


async def load_document_files(ctx: Context, document_id: uuid.UUID) -> list[models.Media]:
    return await _loader(ctx, "document_files", _ready_media_by("document_id")).load(document_id)


async def load_notification_preferences(ctx: Context, user_id: uuid.UUID) -> list[models.NotificationPreference]:
    async def batch(ids: Sequence[uuid.UUID]) -> list[list[models.NotificationPreference]]:
        grouped: dict[uuid.UUID, list[models.NotificationPreference]] = defaultdict(list)
        for row in await models.NotificationPreference.filter(user_id__in=list(ids)):
            grouped[row.user_id].append(row)
        return [grouped.get(i, []) for i in ids]

    return await _loader(ctx, "notification_preferences", batch).load(user_id)


# Paged relations ---------------------------------------------------------------------------------------

PageKey = tuple[uuid.UUID, int, int, Hashable]


def _paged(
    build: Callable[[list[uuid.UUID], Any], Awaitable[QuerySet[Any]]], parent_column: str, order_sql: str
) -> Callable[[Sequence[PageKey]], Awaitable[list[Page[Any]]]]:
    """A batch function for keys (parent id, offset, limit, filter): one window query per distinct window."""

    async def batch(keys: Sequence[PageKey]) -> list[Page[Any]]:
        groups: dict[tuple[int, int, Hashable], list[uuid.UUID]] = defaultdict(list)
        for parent, offset, limit, spec in keys:
            groups[(offset, limit, spec)].append(parent)
        pages: dict[PageKey, Page[Any]] = {}
        for (offset, limit, spec), parents in groups.items():
            queryset = await build(parents, spec)
            for parent, page in (await paged_by_parent(queryset, parent_column, order_sql, parents, offset,
                                                       limit)).items():
                pages[(parent, offset, limit, spec)] = page
        return [pages[key] for key in keys]

    return batch


async def _tasks_of(residence_ids: list[uuid.UUID], spec: task_rules.TaskFilterSpec) -> QuerySet[models.Task]:
    return await task_rules.filtered_tasks(residence_ids, spec, utc_now())


async def _completions_of(task_ids: list[uuid.UUID], _: None) -> QuerySet[models.TaskCompletion]:
    return models.TaskCompletion.filter(task_id__in=task_ids)


async def _live_sessions_of(user_ids: list[uuid.UUID], _: None) -> QuerySet[models.AuthToken]:
    return live_tokens_of(user_ids, clock.utc_now())


async def _documents_of(residence_ids: list[uuid.UUID], _: None) -> QuerySet[models.Document]:
    return models.Document.filter(residence_id__in=residence_ids)


async def _contractors_of(
    residence_ids: list[uuid.UUID], spec: contractor_rules.ContractorFilterSpec
) -> QuerySet[models.Contractor]:
    return contractor_rules.filtered_contractors(residence_ids, spec)


# Undated tasks last, then soonest due first; created_at and id make the order total and stable.
TASK_ORDER = "CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, created_at, id"
COMPLETION_ORDER = "completed_at DESC, id DESC"
DOCUMENT_ORDER = "created_at DESC, id DESC"
SESSION_ORDER = "created_at DESC, id DESC"
# Favourites first, then by name (LOWER folds ASCII on SQLite, all of Unicode on PostgreSQL).
CONTRACTOR_ORDER = "favorite DESC, LOWER(name), id"


async def load_task_page(
    ctx: Context, residence_id: uuid.UUID, spec: task_rules.TaskFilterSpec, offset: int, limit: int
) -> Page[models.Task]:
    loader = _loader(ctx, "task_page", _paged(_tasks_of, "residence_id", TASK_ORDER))
    return await loader.load((residence_id, offset, limit, spec))


async def load_completion_page(
    ctx: Context, task_id: uuid.UUID, offset: int, limit: int
) -> Page[models.TaskCompletion]:
    loader = _loader(ctx, "completion_page", _paged(_completions_of, "task_id", COMPLETION_ORDER))
    return await loader.load((task_id, offset, limit, None))


async def load_document_page(
    ctx: Context, residence_id: uuid.UUID, offset: int, limit: int
) -> Page[models.Document]:
    loader = _loader(ctx, "document_page", _paged(_documents_of, "residence_id", DOCUMENT_ORDER))
    return await loader.load((residence_id, offset, limit, None))


async def load_live_sessions(ctx: Context, user_id: uuid.UUID, limit: int) -> list[models.AuthToken]:
    """The user's newest ``limit`` live sessions (tokens neither revoked nor expired), newest first."""
    loader = _loader(ctx, "live_sessions", _paged(_live_sessions_of, "user_id", SESSION_ORDER))
    page: Page[models.AuthToken] = await loader.load((user_id, 0, limit, None))
    return page.rows


async def load_contractor_page(
    ctx: Context, residence_id: uuid.UUID, spec: contractor_rules.ContractorFilterSpec, offset: int, limit: int
) -> Page[models.Contractor]:
    loader = _loader(ctx, "contractor_page", _paged(_contractors_of, "residence_id", CONTRACTOR_ORDER))
    return await loader.load((residence_id, offset, limit, spec))
