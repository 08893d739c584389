"""Tasks and completions in GraphQL: types, ``task``/``upcomingTasks`` and the task mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.clock import utc_now
from honeydue.schedule import TaskColumn as _TaskColumn
from resolvers import tasks
from resolvers.attachments import file_ids
from resolvers.ids import reference_id
from resolvers.validation import MAX_FILES, MAX_LIST, check_argument_length
from schema import loaders
from schema.accounts import User
from schema.common import Connection, make_connection, page_bounds
from schema.context import Context
from schema.media import Media
from schema.mutation import mutation

if TYPE_CHECKING:
    from schema.residences import Residence

TaskCategory = strawberry.enum(models.TaskCategory, name="TaskCategory")
TaskPriority = strawberry.enum(models.TaskPriority, name="TaskPriority")
TaskFrequency = strawberry.enum(models.TaskFrequency, name="TaskFrequency")
TaskColumn = strawberry.enum(_TaskColumn, name="TaskColumn")


@strawberry.type
class TaskCompletion:
    id: strawberry.ID
    completed_at: datetime
    notes: str
    cost_cents: int | None
    _row: strawberry.Private[models.TaskCompletion]

    @classmethod
    def from_row(cls, row: models.TaskCompletion) -> TaskCompletion:
        return cls(id=strawberry.ID(str(row.id)), completed_at=row.completed_at, notes=row.notes,
                   cost_cents=row.cost_cents, _row=row)

    @strawberry.field
    async def task(self, info: Info[Context, None]) -> Task:
        row = await loaders.load_task(info.context, self._row.task_id)
        assert row is not None  # the completion cascades with its task
        return Task.from_row(row)

    @strawberry.field
    async def completed_by(self, info: Info[Context, None]) -> User | None:
        row = await loaders.load_user(info.context, self._row.completed_by_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The READY photos attached to this completion.")
    async def photos(self, info: Info[Context, None]) -> list[Media]:
        return [Media.from_row(m) for m in await loaders.load_completion_photos(info.context, self._row.id)]


@strawberry.type
class Task:
    id: strawberry.ID
    title: str
    description: str
    category: TaskCategory  # type: ignore[valid-type]
    priority: TaskPriority  # type: ignore[valid-type]
    frequency: TaskFrequency  # type: ignore[valid-type]
    interval_days: int | None
    rolling: bool
    due_date: date | None = strawberry.field(description="The next date it is due (null once a ONCE task is done).")
    in_progress: bool
    cancelled: bool
    archived: bool
    completed: bool = strawberry.field(description="A ONCE task that has been done.")
    last_completed_at: datetime | None
    created_at: datetime
    _row: strawberry.Private[models.Task]

    @classmethod
    def from_row(cls, row: models.Task) -> Task:
        return cls(
            id=strawberry.ID(str(row.id)), title=row.title, description=row.description, category=row.category,
            priority=row.priority, frequency=row.frequency, interval_days=row.interval_days, rolling=row.rolling,
            due_date=row.due_date, in_progress=row.in_progress, cancelled=row.cancelled, archived=row.archived,
            completed=row.completed, last_completed_at=row.last_completed_at, created_at=row.created_at, _row=row,
        )

    @strawberry.field
    async def residence(
        self, info: Info[Context, None]
    ) -> Annotated[Residence, strawberry.lazy("schema.residences")]:
        from schema.residences import Residence

        row = await loaders.load_residence(info.context, self._row.residence_id)
        assert row is not None  # the task cascades with its residence
        return Residence.from_row(row)

    @strawberry.field(description="The Kanban column, judged on today's date in the residence's timezone.")
    async def column(self, info: Info[Context, None]) -> TaskColumn:  # type: ignore[valid-type]
        residence = await loaders.load_residence(info.context, self._row.residence_id)
        return tasks.column_of(self._row, residence.timezone if residence else "UTC", utc_now())

    @strawberry.field
    async def assignee(self, info: Info[Context, None]) -> User | None:
        row = await loaders.load_user(info.context, self._row.assignee_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Newest first.")
    async def completions(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[TaskCompletion]:
        offset, limit = page_bounds(first, after)
        page = await loaders.load_completion_page(info.context, self._row.id, offset, limit)
        return make_connection([TaskCompletion.from_row(r) for r in page.rows], offset, page.total)


@strawberry.input(description="Which tasks a list shows; every given condition must hold.")
class TaskFilter:
    columns: list[TaskColumn] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=f"At most {MAX_LIST}; a longer list is an INVALID_INPUT error.")
    categories: list[TaskCategory] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=f"At most {MAX_LIST}; a longer list is an INVALID_INPUT error.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A malformed or unknown ID selects no task.")
    include_archived: bool = False

    def to_spec(self) -> tasks.TaskFilterSpec:
        check_argument_length(self.columns, MAX_LIST, "columns")
        check_argument_length(self.categories, MAX_LIST, "categories")
        return tasks.TaskFilterSpec(
            columns=frozenset(self.columns) if self.columns is not None else None,
            categories=frozenset(self.categories) if self.categories is not None else None,
            assignee_id=reference_id(self.assignee_id) if self.assignee_id is not None else None,
            include_archived=self.include_archived,
        )


@strawberry.input
class CreateTaskInput:
    residence_id: strawberry.ID
    title: str
    description: str | None = None
    category: TaskCategory = models.TaskCategory.OTHER  # type: ignore[valid-type]
    priority: TaskPriority = models.TaskPriority.MEDIUM  # type: ignore[valid-type]
    frequency: TaskFrequency = models.TaskFrequency.ONCE  # type: ignore[valid-type]
    interval_days: int | None = None
    rolling: bool = False
    due_date: date | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input(description="Only the fields sent change; null clears dueDate, intervalDays and assigneeId.")
class UpdateTaskInput:
    task_id: strawberry.ID
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: TaskCategory | None = strawberry.UNSET  # type: ignore[valid-type]
    priority: TaskPriority | None = strawberry.UNSET  # type: ignore[valid-type]
    frequency: TaskFrequency | None = strawberry.UNSET  # type: ignore[valid-type]
    interval_days: int | None = strawberry.UNSET
    rolling: bool | None = strawberry.UNSET
    due_date: date | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class DeleteTaskInput:
    task_id: strawberry.ID


@strawberry.input(description="Only the flags sent change.")
class SetTaskStateInput:
    task_id: strawberry.ID
    in_progress: bool | None = None
    cancelled: bool | None = None
    archived: bool | None = None


@strawberry.input
class CompleteTaskInput:
    task_id: strawberry.ID
    completed_at: datetime | None = strawberry.field(default=None, description="Defaults to now; never future.")
    notes: str | None = None
    cost_cents: int | None = None
    photo_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=f"READY photos uploaded for this task; at most {MAX_FILES}.")


@strawberry.type
class TaskResult:
    task: Task | None = None


@strawberry.type
class DeletedTaskResult:
    task: Task | None = None
    deleted_id: strawberry.ID | None = None


@strawberry.type
class CompletionResult:
    completion: TaskCompletion | None = None
    task: Task | None = strawberry.field(default=None, description="The task with its next due date.")


def sent_fields(data: object, *skip: str) -> dict[str, object]:
    """The input fields the client actually sent (strawberry.UNSET marks the others)."""
    return {k: v for k, v in vars(data).items() if v is not strawberry.UNSET and k not in skip}


@strawberry.type
class TaskQuery:
    @strawberry.field
    async def task(self, info: Info[Context, None], id: strawberry.ID) -> Task:
        return Task.from_row(await tasks.get_task(info.context.require_user(), id))

    @strawberry.field(description="Open tasks overdue or due within `days`, across the caller's residences, "
                                  "oldest due first.")
    async def upcoming_tasks(
        self, info: Info[Context, None], days: int = 30, first: int | None = None, after: str | None = None
    ) -> Connection[Task]:
        offset, limit = page_bounds(first, after)
        rows, total = await tasks.upcoming_tasks(info.context.require_user(), days, offset, limit, utc_now())
        return make_connection([Task.from_row(r) for r in rows], offset, total)


@strawberry.type
class TaskMutation:
    @mutation()
    async def create_task(self, info: Info[Context, None], input: CreateTaskInput) -> TaskResult:
        row = await tasks.create_task(info.context.require_user(), **sent_fields(input), now=utc_now())  # type: ignore[arg-type]
        return TaskResult(task=Task.from_row(row))

    @mutation()
    async def update_task(self, info: Info[Context, None], input: UpdateTaskInput) -> TaskResult:
        row = await tasks.update_task(info.context.require_user(), input.task_id, **sent_fields(input, "task_id"),
                                      now=utc_now())
        return TaskResult(task=Task.from_row(row))

    @mutation()
    async def delete_task(self, info: Info[Context, None], input: DeleteTaskInput) -> DeletedTaskResult:
        row = await tasks.delete_task(info.context.require_user(), input.task_id)
        return DeletedTaskResult(task=Task.from_row(row), deleted_id=strawberry.ID(str(row.id)))

    @mutation()
    async def set_task_state(self, info: Info[Context, None], input: SetTaskStateInput) -> TaskResult:
        row = await tasks.set_task_state(info.context.require_user(), input.task_id, in_progress=input.in_progress,
                                         cancelled=input.cancelled, archived=input.archived)
        return TaskResult(task=Task.from_row(row))

    @mutation()
    async def complete_task(self, info: Info[Context, None], input: CompleteTaskInput) -> CompletionResult:
        completion, row = await tasks.complete_task(
            info.context.require_user(), input.task_id, completed_at=input.completed_at, notes=input.notes,
            cost_cents=input.cost_cents, photo_ids=file_ids(input.photo_ids, "photoIds"), now=utc_now(),
        )
        return CompletionResult(completion=TaskCompletion.from_row(completion), task=Task.from_row(row))
