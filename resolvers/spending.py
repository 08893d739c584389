"""What a residence spent in a year: completion costs by task category and by month (``Residence.spending``).

Two aggregate statements, whatever the number of completions: one ``GROUP BY`` the task's category, one
``GROUP BY`` the month. The year and its months are the residence's local ones (its timezone): each month is
the range of stored instants between two local midnights, computed here and compared in SQL, so PostgreSQL and
SQLite group alike (no date functions, which differ between them, and no time-zone arithmetic in SQL, which
SQLite lacks).

Only completions with a cost count (``costCents`` set; zero counts as a free job done); ``count`` is how many.
Skipped occurrences (``skipTaskOccurrence``) are history entries, not work done: they never count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tortoise.expressions import Case, RawSQL, When
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from honeydue.errors import InvalidInput
from honeydue.models import Residence, TaskCategory, TaskCompletion

FIRST_YEAR = 1970


@dataclass(frozen=True)
class Bucket:
    total_cents: int
    count: int


@dataclass(frozen=True)
class Spending:
    year: int
    total_cents: int
    count: int
    by_category: list[tuple[TaskCategory, Bucket]]  # categories with costs only, largest total first
    by_month: list[Bucket]  # 12 entries, January first


def local_year(residence: Residence, now: datetime) -> int:
    """The current year where the residence is."""
    return now.astimezone(ZoneInfo(residence.timezone)).year


def check_year(year: int, current_year: int) -> None:
    """1970 to next year (a pre-dated bill may sit in January); else the top-level INVALID_INPUT error."""
    if not FIRST_YEAR <= year <= current_year + 1:
        raise InvalidInput(f"year must be from {FIRST_YEAR} to {current_year + 1}.")


def month_starts(year: int, timezone: str) -> list[datetime]:
    """The 13 instants (UTC) of local midnight on the 1st of each month of ``year`` and of the next January."""
    zone = ZoneInfo(timezone)
    starts = [datetime(year, month, 1, tzinfo=zone) for month in range(1, 13)] + [datetime(year + 1, 1, 1, tzinfo=zone)]
    return [start.astimezone(UTC) for start in starts]


def _costed_completions(residence_id: uuid.UUID, start: datetime, end: datetime) -> QuerySet[TaskCompletion]:
    return TaskCompletion.filter(task__residence_id=residence_id, completed_at__gte=start, completed_at__lt=end,
                                 cost_cents__not_isnull=True, skipped=False)


async def residence_spending(residence: Residence, year: int) -> Spending:
    starts = month_starts(year, residence.timezone)
    costed = _costed_completions(residence.id, starts[0], starts[12])
    by_category_rows = await costed.annotate(total=Sum("cost_cents"), n=Count("id")).group_by(
        "task__category").values("task__category", "total", "n")
    # The month of each completion: the first month start it is before (the filter keeps it inside the year).
    # The month numbers are SQL literals, not parameters: PostgreSQL would read a parameter in CASE as text.
    # (Tortoise's hints leave RawSQL out; it is a Term like the others and renders as written.)
    month = Case(*[When(completed_at__lt=starts[m], then=RawSQL(str(m))) for m in range(1, 12)],  # type: ignore[arg-type]
                 default=RawSQL("12"))  # type: ignore[arg-type]
    by_month_rows = await costed.annotate(month=month).annotate(total=Sum("cost_cents"), n=Count("id")).group_by(
        "month").values("month", "total", "n")

    months = {int(row["month"]): Bucket(int(row["total"] or 0), int(row["n"])) for row in by_month_rows}
    categories = [(TaskCategory(row["task__category"]), Bucket(int(row["total"] or 0), int(row["n"])))
                  for row in by_category_rows]
    categories.sort(key=lambda item: (-item[1].total_cents, item[0].value))
    by_month = [months.get(m, Bucket(0, 0)) for m in range(1, 13)]
    return Spending(year=year, total_cents=sum(b.total_cents for b in by_month), count=sum(b.count for b in by_month),
                    by_category=categories, by_month=by_month)
