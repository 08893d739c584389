"""The task-template catalogue in GraphQL: ``TaskTemplate``, ``taskTemplates`` and ``suggestedTasks``."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from honeydue import catalogue
from honeydue.errors import InvalidInput
from resolvers import suggestions
from resolvers.ids import as_id
from schema.common import Connection, make_connection, page_bounds
from schema.context import Context
from schema.enums import (
    ClimateRegion,
    HomeFeature,
    ResidenceType,
    Season,
    TaskCategory,
    TaskFrequency,
    TemplateImportance,
)

MAX_SEARCH_LENGTH = 200



@strawberry.type(description="A home-maintenance chore from the built-in catalogue: the defaults of a task made "
                             "from it (`createTasks` with `templateId`).")
class TaskTemplate:
    id: strawberry.ID = strawberry.field(description="Stable id, e.g. `hvac-filter-replace`; never reused. "
                                                     "`Task.template` refers to it.")
    title: str = strawberry.field(description="The task title it gives (at most 200 characters).")
    description: str = strawberry.field(description="What to do and why.")
    category: TaskCategory = strawberry.field(description="The task category it gives.")  # type: ignore[valid-type]
    frequency: TaskFrequency = strawberry.field(  # type: ignore[valid-type]
        description="The default schedule it gives.")
    interval_days: int | None = strawberry.field(description="Days between occurrences for a CUSTOM frequency; "
                                                             "null otherwise.")
    season: Season | None = strawberry.field(  # type: ignore[valid-type]
        description="The season it is best done in; null when any time suits.")
    month: int | None = strawberry.field(description="The month (1-12) it is best done in; null when none.")
    features: list[HomeFeature] = strawberry.field(  # type: ignore[valid-type]
        description="Home features it needs, all of them; suggested only to homes that have them.")
    residence_types: list[ResidenceType] = strawberry.field(  # type: ignore[valid-type]
        description="The residence types it is for; empty for every type.")
    climates: list[ClimateRegion] = strawberry.field(  # type: ignore[valid-type]
        description="The climate regions it is for; empty for every climate.")
    importance: TemplateImportance = strawberry.field(  # type: ignore[valid-type]
        description="How much the chore matters (the base of its suggestion score).")

    @classmethod
    def from_template(cls, t: catalogue.TaskTemplate) -> TaskTemplate:
        return cls(id=strawberry.ID(t.id), title=t.title, description=t.description, category=t.category,
                   frequency=t.frequency, interval_days=t.interval_days, season=t.season, month=t.month,
                   features=list(t.features), residence_types=list(t.residence_types), climates=list(t.climates),
                   importance=t.importance)


@strawberry.type(description="A template suggested for a residence, with why (see docs/templates.md, Scoring).")
class TaskSuggestion:
    template: TaskTemplate = strawberry.field(description="The suggested template.")
    score: float = strawberry.field(description="Importance (3, 2 or 1) plus 1 for each reason the home matches "
                                                "it; higher first.")
    reasons: list[str] = strawberry.field(description="One sentence per point of the score, e.g. \"Your home has "
                                                      "a pool.\"")


@strawberry.type
class TemplateQuery:
    @strawberry.field(description="The task-template catalogue in its own order (grouped by category). Anyone "
                                  "signed in may read it.")
    def task_templates(
        self, info: Info[Context, None],
        search: Annotated[str | None, strawberry.argument(
            description="Only templates whose title or description contains this text, ignoring case; at most "
                        f"{MAX_SEARCH_LENGTH} characters (else INVALID_INPUT).")] = None,
        category: Annotated[TaskCategory | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only templates of this category.")] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size: default 20, at most 100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="The cursor of the last edge seen.")] = None,
    ) -> Connection[TaskTemplate]:
        info.context.require_user()
        if search is not None and len(search) > MAX_SEARCH_LENGTH:
            raise InvalidInput(f"search may be at most {MAX_SEARCH_LENGTH} characters.")
        offset, limit = page_bounds(first, after)
        found = catalogue.search(search, category)
        page = found[offset:offset + limit] if limit else []
        return make_connection([TaskTemplate.from_template(t) for t in page], offset, len(found))

    @strawberry.field(description="Catalogue templates ranked for the residence's type and profile, best first; "
                                  "templates its tasks already come from are left out. VIEWER role; NOT_FOUND for "
                                  "a residence the caller is not a member of.")
    async def suggested_tasks(
        self, info: Info[Context, None],
        residence_id: Annotated[strawberry.ID, strawberry.argument(
            description="The residence (VIEWER); NOT_FOUND when the caller is not a member.")],
        first: Annotated[int | None, strawberry.argument(
            description=f"How many: default {suggestions.DEFAULT_SUGGESTIONS}, clamped to "
                        f"0..{suggestions.MAX_SUGGESTIONS}; null is the default.")] = suggestions.DEFAULT_SUGGESTIONS,
    ) -> list[TaskSuggestion]:
        user = info.context.require_user()  # before the ID is read: anonymous is UNAUTHENTICATED, whatever the ID
        ranked = await suggestions.suggested_tasks(user, as_id(residence_id), first)
        return [TaskSuggestion(template=TaskTemplate.from_template(s.template), score=s.score,
                               reasons=list(s.reasons)) for s in ranked]
