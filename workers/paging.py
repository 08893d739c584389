"""Walking a large table a page at a time, for the jobs (reminders, data exports)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)

PAGE_SIZE = 500


async def pages(query: QuerySet[M], size: int = PAGE_SIZE) -> AsyncIterator[list[M]]:
    """Rows of ``query`` in id order, one page at a time (never the whole list in memory)."""
    last: uuid.UUID | None = None
    while True:
        page_query = query.order_by("id").limit(size)
        if last is not None:
            page_query = page_query.filter(id__gt=last)
        page = await page_query
        if not page:
            return
        yield page
        last = page[-1].id  # type: ignore[attr-defined]
