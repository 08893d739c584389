"""Spending and reports in GraphQL: ``Residence.spending`` and ``residenceReport``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from honeydue.clock import utc_now
from resolvers import reports, spending
from resolvers.ids import as_id
from schema.context import Context
from schema.enums import TaskCategory
from schema.mutation import mutation


@strawberry.type(description="What the completions of one task category cost in the year.")
class CategorySpending:
    category: TaskCategory = strawberry.field(  # type: ignore[valid-type]
        description="The category of the completed tasks.")
    total_cents: int = strawberry.field(description="The sum of their costs, in integer cents (no currency).")
    count: int = strawberry.field(description="How many completions with a cost it adds up (at least 1).")


@strawberry.type(description="What the completions of one month of the year cost.")
class MonthSpending:
    month: int = strawberry.field(description="1 (January) to 12 (December), in the residence's timezone.")
    total_cents: int = strawberry.field(description="The sum of the costs, in integer cents; 0 when none.")
    count: int = strawberry.field(description="How many completions with a cost it adds up; 0 when none.")


@strawberry.type(description="A residence's spending in one year: the costs (`costCents`) recorded on its task "
                             "completions, in the residence's local year. Completions without a cost are left out; a "
                             "cost of 0 counts as a free job.")
class Spending:
    year: int = strawberry.field(description="The year, in the residence's timezone.")
    total_cents: int = strawberry.field(description="Everything spent in the year, in integer cents.")
    count: int = strawberry.field(description="How many completions with a cost the year has.")
    by_category: list[CategorySpending] = strawberry.field(
        description="Per task category, only categories with costs; largest total first (ties by name).")
    by_month: list[MonthSpending] = strawberry.field(
        description="Per month: always 12 entries, January first, months without costs at 0.")

    @classmethod
    def from_result(cls, result: spending.Spending) -> Spending:
        return cls(
            year=result.year, total_cents=result.total_cents, count=result.count,
            by_category=[CategorySpending(category=category, total_cents=b.total_cents, count=b.count)
                         for category, b in result.by_category],
            by_month=[MonthSpending(month=index + 1, total_cents=b.total_cents, count=b.count)
                      for index, b in enumerate(result.by_month)])


def spending_field() -> Any:
    """``Residence.spending``: defined here with the reports, attached in schema.residences."""

    async def resolve(
        root: Any, info: Info[Context, None],
        year: Annotated[int | None, strawberry.argument(description=(
            f"The year to total, {spending.FIRST_YEAR} to next year (in the residence's timezone), else an "
            "INVALID_INPUT error; the current year there when omitted."))] = None,
    ) -> Spending:
        residence = root._row
        current = spending.local_year(residence, utc_now())
        chosen = current if year is None else year
        spending.check_year(chosen, current)
        return Spending.from_result(await spending.residence_spending(residence, chosen))

    return strawberry.field(resolver=resolve, description=(
        "What the residence spent in a year: the costs of its task completions by category and by month, computed "
        "by the database (two statements, however many completions). Any member may read it."))


@strawberry.input(description="Which residence to report on, and the period of completions to include.")
class ResidenceReportInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence; NOT_FOUND when the caller is not a "
                                                               "member. Any member may make a report.")
    from_: date | None = strawberry.field(
        name="from", default=None,
        description="The first day of the period (in the residence's timezone); by default the day after `to` one "
                    "year earlier (the last 12 months). INVALID_INPUT on `from` when after `to`, more than 10 years "
                    "before it, or outside 1970 to next year.")
    to: date | None = strawberry.field(
        default=None, description="The last day of the period, included; today in the residence's timezone by "
                                  "default. INVALID_INPUT on `to` outside 1970 to next year.")


@strawberry.type
class ResidenceReportResult:
    url: str | None = strawberry.field(
        default=None, description="A signed gateway link to the PDF (application/pdf), valid at once and until "
                                  "`expiresAt`; no session needed to follow it.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the link stops working (24 hours on, rounded up to the hour); the file "
                                  "is deleted soon after.")


@strawberry.type
class ReportMutation:
    @mutation("Makes a PDF report of a residence and answers its link; the file is built before the answer, so the "
              "link works at once. It holds the home and its profile, the tasks and their schedules, the "
              "completions of the period (who did them, member or contractor, cost, notes and a thumbnail of the "
              "first photo, for at most 24 completions), the documents with their warranty dates, and the totals. "
              "At most 1000 tasks, 2000 completions (newest first) and 1000 documents are listed; totals count "
              "everything. Any member may call it; NOT_FOUND for non-members. At most 10 calls per user an hour, "
              "then the RATE_LIMITED user error. The file is kept 24 hours.")
    async def residence_report(self, info: Info[Context, None], input: ResidenceReportInput) -> ResidenceReportResult:
        ctx = info.context
        report = await reports.residence_report(
            ctx.require_user(), as_id(input.residence_id), input.from_, input.to, services=ctx.services,
            now=utc_now())
        return ResidenceReportResult(url=report.link.url, expires_at=report.link.expires_at)
