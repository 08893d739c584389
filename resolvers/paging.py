"""One page of a query and the query's total, in one round trip when the page itself shows the total."""

from __future__ import annotations

from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


async def fetch_page(query: QuerySet[M], offset: int, limit: int, *order_by: str) -> tuple[list[M], int]:
    """Rows ``offset .. offset+limit`` of ``query`` in ``order_by`` order, and how many rows it has in all.

    A page shorter than ``limit`` that is not past the end holds the last rows, so the total is
    ``offset + len(rows)`` and the COUNT query (a second round trip on every list, e.g. the home
    screen's ``upcomingTasks``) is only sent for full, empty-beyond-the-end or zero-size pages.
    """
    rows = list(await query.order_by(*order_by).offset(offset).limit(limit)) if limit else []
    if limit and len(rows) < limit and (rows or offset == 0):
        return rows, offset + len(rows)
    return rows, await query.count()
