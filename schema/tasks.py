"""Tasks and completions in GraphQL: types, ``task``/``upcomingTasks`` and the task mutations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import catalogue, models
from honeydue.clock import utc_now
from honeydue.schedule import MAX_SNOOZE_DAYS, local_today, missed_occurrences
from resolvers import tasks
from resolvers.attachments import file_ids
from resolvers.ids import reference_id
from resolvers.rotation import RotationSpec
from resolvers.validation import MAX_BULK_TASKS, MAX_FILES, MAX_LIST, check_argument_length
from schema import loaders
from schema.accounts import User
from schema.common import (
    IDEMPOTENCY_KEY_DESCRIPTION,
    After,
    Connection,
    First,
    FromRow,
    make_connection,
    page_bounds,
)
from schema.context import Context
from schema.enums import RotationMode, TaskCategory, TaskColumn, TaskFrequency, TaskPriority
from schema.media import Media
from schema.mutation import mutation
from schema.residence_field import residence_field

if TYPE_CHECKING:
    from schema.contractors import Contractor
    from schema.templates import TaskTemplate

LazyContractor = Annotated["Contractor", strawberry.lazy("schema.contractors")]
CONTRACTOR_ID_DESCRIPTION = ("A contractor of the task's residence (`Residence.contractors`); another residence's, "
                             "an unknown or a malformed ID is an INVALID_INPUT error on contractorId.")



@strawberry.type(description="One time a task was done.")
class TaskCompletion(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    completed_at: datetime = strawberry.field(description="When the task was done (never in the future).")
    notes: str = strawberry.field(description="Free text, at most 10000 characters; empty when none were given.")
    cost_cents: int | None = strawberry.field(description="What it cost, in cents of the household's currency; "
                                                          "null when not given.")
    skipped: bool = strawberry.field(description="True for a skipped occurrence (skipTaskOccurrence): the schedule "
                                                 "moved on without the task being done; `completedAt` is when it "
                                                 "was skipped and `completedBy` who skipped it. Skips have no notes, "
                                                 "cost or photos and do not count as completions for rotation.")
    _row: strawberry.Private[models.TaskCompletion]

    @strawberry.field(description="The task that was done.")
    async def task(self, info: Info[Context, None]) -> Task:
        row = await loaders.load_task(info.context, self._row.task_id)
        assert row is not None  # the completion cascades with its task
        return Task.from_row(row)

    @strawberry.field(description="Who recorded it; null once their account is deleted.")
    async def completed_by(self, info: Info[Context, None]) -> User | None:
        row = await loaders.load_user(info.context, self._row.completed_by_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The contractor who did the job (and charged `costCents`); null when none "
                                  "was named or the contractor was deleted.")
    async def contractor(self, info: Info[Context, None]) -> LazyContractor | None:
        return await _contractor(info, self._row.contractor_id)

    @strawberry.field(description="The READY photos and videos attached to this completion (a video's contentType "
                                  "is video/mp4, video/quicktime or video/webm).")
    async def photos(self, info: Info[Context, None]) -> list[Media]:
        return [Media.from_row(m) for m in await loaders.load_completion_photos(info.context, self._row.id)]


@strawberry.type(description="How a task's assignee changes as it is completed.")
class TaskRotation:
    mode: RotationMode = strawberry.field(description="FIXED (one assignee), ROUND_ROBIN or "  # type: ignore[valid-type]
                                                      "FEWEST_COMPLETIONS.")
    _member_ids: strawberry.Private[list]

    @strawberry.field(description="The members who take turns, in the rotation's order (at most 100); empty for "
                                  "FIXED. Members who leave the residence drop out.")
    async def members(self, info: Info[Context, None]) -> list[User]:
        rows = [await loaders.load_user(info.context, user_id) for user_id in self._member_ids]
        return [User.from_row(row) for row in rows if row is not None]


@strawberry.type(description="A chore of a residence, one-off or recurring.")
class Task(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    title: str = strawberry.field(description="1 to 200 characters.")
    description: str = strawberry.field(description="Free text, at most 10000 characters; empty when not given.")
    category: TaskCategory = strawberry.field(  # type: ignore[valid-type]
        description="What part of the home it is about.")
    priority: TaskPriority = strawberry.field(description="How much it matters.")  # type: ignore[valid-type]
    frequency: TaskFrequency = strawberry.field(description="How often it recurs.")  # type: ignore[valid-type]
    interval_days: int | None = strawberry.field(description="Days between due dates of a CUSTOM task; null for "
                                                             "every other frequency.")
    rolling: bool = strawberry.field(description="True: the next due date counts from the day it was done. False: "
                                                 "it stays on the schedule's fixed dates.")
    due_date: date | None = strawberry.field(description="The next date it is due, in the residence's timezone "
                                                         "(null when none was set, and once a ONCE task is done).")
    in_progress: bool = strawberry.field(description="Started and not finished; completing the task clears it.")
    cancelled: bool = strawberry.field(description="Cancelled: not done and not due any more.")
    archived: bool = strawberry.field(description="Hidden from lists unless they ask for archived tasks.")
    completed: bool = strawberry.field(description="A ONCE task that has been done.")
    last_completed_at: datetime | None = strawberry.field(description="When it was last done; null if never.")
    created_at: datetime = strawberry.field(description="When the task was created.")
    snoozed_until: date | None = strawberry.field(description="Reminders about it are held back until this date "
                                                              "(residence's timezone), when they resume; the due "
                                                              "date does not move. Null when not snoozed. Set by "
                                                              "snoozeTask; completing or skipping the task clears "
                                                              "it.")
    _row: strawberry.Private[models.Task]

    residence = residence_field("The residence the task belongs to.")

    @strawberry.field(description="The Kanban column, judged on today's date in the residence's timezone.")
    async def column(self, info: Info[Context, None]) -> TaskColumn:  # type: ignore[valid-type]
        residence = await loaders.load_residence(info.context, self._row.residence_id)
        return tasks.column_of(self._row, residence.timezone if residence else "UTC", utc_now())

    @strawberry.field(description="How many occurrences this task stands for while overdue: a task that missed "
                                  "several cycles is shown once, due on its oldest missed date, and this counts "
                                  "them (the slots of a fixed schedule from dueDate through yesterday; 1 for a "
                                  "rolling or ONCE task). 0 when it is not overdue.")
    async def missed_occurrences(self, info: Info[Context, None]) -> int:
        row = self._row
        if row.cancelled or row.completed or row.due_date is None:
            return 0
        residence = await loaders.load_residence(info.context, row.residence_id)
        today = local_today(residence.timezone if residence else "UTC", utc_now())
        return missed_occurrences(row.frequency, row.interval_days, row.rolling, row.anchor_date or row.due_date,
                                  row.due_date, today)

    @strawberry.field(description="Who it goes to after each completion: FIXED keeps `assignee`; ROUND_ROBIN and "
                                  "FEWEST_COMPLETIONS pass it among the rotation's members.")
    async def rotation(self, info: Info[Context, None]) -> TaskRotation:
        members = await loaders.load_rotation_members(info.context, self._row.id)
        return TaskRotation(mode=self._row.rotation_mode, _member_ids=members)

    @strawberry.field(description="The member it is assigned to; null when nobody is (or they left).")
    async def assignee(self, info: Info[Context, None]) -> User | None:
        row = await loaders.load_user(info.context, self._row.assignee_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The catalogue template the task was made from (createTasks with templateId); "
                                  "null for tasks written from scratch.")
    def template(self) -> Annotated[TaskTemplate, strawberry.lazy("schema.templates")] | None:
        from schema.templates import TaskTemplate

        found = catalogue.template(self._row.template_id) if self._row.template_id else None
        return TaskTemplate.from_template(found) if found else None

    @strawberry.field(description="The contractor who usually does this task; null when none is set or the "
                                  "contractor was deleted.")
    async def contractor(self, info: Info[Context, None]) -> LazyContractor | None:
        return await _contractor(info, self._row.contractor_id)

    @strawberry.field(description="The times it was done, newest first.")
    async def completions(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[TaskCompletion]:
        offset, limit = page_bounds(first, after)
        page = await loaders.load_completion_page(info.context, self._row.id, offset, limit)
        return make_connection([TaskCompletion.from_row(r) for r in page.rows], offset, page.total)


async def _contractor(info: Info[Context, None], contractor_id: uuid.UUID | None) -> Contractor | None:
    from schema.contractors import Contractor

    row = await loaders.load_contractor(info.context, contractor_id)
    return Contractor.from_row(row) if row else None


TITLE = "1 to 200 characters after trimming; else INVALID_INPUT."
DESCRIPTION = "Free text, at most 10000 characters; else INVALID_INPUT."
INTERVAL_DAYS = "Days between due dates, 1 to 36600: required for CUSTOM (else INVALID_SCHEDULE), ignored otherwise."
ROLLING = "True: the next due date counts from the day it is done. False: it keeps the schedule's fixed dates."
DUE_DATE = "The date it is due, in the residence's timezone, 1900-01-01 to 9000-12-31; else INVALID_INPUT."
ASSIGNEE = ("A member of the residence to assign it to; else INVALID_INPUT. On a rotating task it must be one of "
            "the rotation's members (whose turn it is now); else INVALID_INPUT.")
ROTATION = ("Who it goes to after each completion; FIXED (the default) keeps the assignee. Errors are INVALID_INPUT "
            "on [rotation, memberIds] or at a member's index.")


@strawberry.input(description="A task's rotation: a mode and, unless FIXED, the members who take turns.")
class RotationInput:
    mode: RotationMode = strawberry.field(description="FIXED, ROUND_ROBIN or "  # type: ignore[valid-type]
                                                      "FEWEST_COMPLETIONS.")
    member_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description=f"The members in turn order: at most {MAX_LIST} (else one INVALID_INPUT on "
                    "[rotation, memberIds]), at least 1 for ROUND_ROBIN and FEWEST_COMPLETIONS, none for FIXED. "
                    "Each must be a member of the residence, any role (as assigneeId); else INVALID_INPUT at its "
                    "index. Repeats are dropped. The assignee stays if among them, else becomes the first "
                    "(ROUND_ROBIN) or the one with the fewest completions (FEWEST_COMPLETIONS).")

    def to_spec(self) -> RotationSpec:
        return RotationSpec(mode=self.mode, member_ids=list(self.member_ids))


@strawberry.input(description="Which tasks a list shows; every given condition must hold.")
class TaskFilter:
    columns: list[TaskColumn] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=f"Tasks in any of these columns; at most {MAX_LIST}, a longer list is an "
                                  "INVALID_INPUT error.")
    categories: list[TaskCategory] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=f"Tasks of any of these categories; at most {MAX_LIST}, a longer list is an "
                                  "INVALID_INPUT error.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Tasks assigned to this user. A malformed or unknown ID selects no task.")
    include_archived: bool = strawberry.field(default=False, description="Also archived tasks.")

    def to_spec(self) -> tasks.TaskFilterSpec:
        check_argument_length(self.columns, MAX_LIST, "columns")
        check_argument_length(self.categories, MAX_LIST, "categories")
        return tasks.TaskFilterSpec(
            columns=frozenset(self.columns) if self.columns is not None else None,
            categories=frozenset(self.categories) if self.categories is not None else None,
            assignee_id=reference_id(self.assignee_id) if self.assignee_id is not None else None,
            include_archived=self.include_archived,
        )


@strawberry.input(description="A new task.")
class CreateTaskInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence, where the caller is an EDITOR.")
    title: str = strawberry.field(description=TITLE)
    description: str | None = strawberry.field(default=None, description=DESCRIPTION)
    category: TaskCategory = strawberry.field(  # type: ignore[valid-type]
        default=models.TaskCategory.OTHER, description="What part of the home it is about.")
    priority: TaskPriority = strawberry.field(  # type: ignore[valid-type]
        default=models.TaskPriority.MEDIUM, description="How much it matters.")
    frequency: TaskFrequency = strawberry.field(  # type: ignore[valid-type]
        default=models.TaskFrequency.ONCE, description="How often it recurs.")
    interval_days: int | None = strawberry.field(default=None, description=INTERVAL_DAYS)
    rolling: bool = strawberry.field(default=False, description=ROLLING)
    due_date: date | None = strawberry.field(default=None, description=DUE_DATE + " A recurring task without one "
                                                                                  "is due today.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description=ASSIGNEE)
    contractor_id: strawberry.ID | None = strawberry.field(default=None, description=CONTRACTOR_ID_DESCRIPTION)
    rotation: RotationInput | None = strawberry.field(default=None, description=ROTATION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="One task of createTasks: CreateTaskInput without residenceId, with an optional "
                              "templateId. With a template, title, description, category, frequency and "
                              "intervalDays default to the template's; the fields given override them.")
class CreateTaskItemInput:
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="A taskTemplates id; an unknown one is INVALID_INPUT on "
                                  "[tasks, <index>, templateId].")
    title: str | None = strawberry.field(default=None, description="1 to 200 characters; required without "
                                                                   "templateId.")
    description: str | None = strawberry.field(default=None, description="At most 10000 characters.")
    category: TaskCategory | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The template's, else OTHER.")
    priority: TaskPriority = strawberry.field(  # type: ignore[valid-type]
        default=models.TaskPriority.MEDIUM, description="MEDIUM by default.")
    frequency: TaskFrequency | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The template's, else ONCE.")
    interval_days: int | None = strawberry.field(
        default=None, description="For CUSTOM (1 to 36600); the template's when the frequency is the template's.")
    rolling: bool = strawberry.field(default=False, description="Count the next date from the completion.")
    due_date: date | None = strawberry.field(default=None, description="Defaults to today for recurring tasks.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="A member of the residence.")
    contractor_id: strawberry.ID | None = strawberry.field(default=None, description=CONTRACTOR_ID_DESCRIPTION)
    rotation: RotationInput | None = strawberry.field(default=None, description=ROTATION)

    def to_new_task(self) -> tasks.NewTask:
        return tasks.NewTask(
            title=self.title, description=self.description, category=self.category, priority=self.priority,
            frequency=self.frequency, interval_days=self.interval_days, rolling=self.rolling,
            due_date=self.due_date, assignee_id=self.assignee_id, contractor_id=self.contractor_id,
            template_id=str(self.template_id) if self.template_id is not None else None,
            rotation=self.rotation.to_spec() if self.rotation is not None else None)


@strawberry.input(description="Tasks to create together in one residence: all of them, or none.")
class CreateTasksInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence (EDITOR role).")
    tasks: list[CreateTaskItemInput] = strawberry.field(
        description=f"1 to {MAX_BULK_TASKS} tasks; at most {MAX_BULK_TASKS}, else one INVALID_INPUT on [tasks]. "
                    "An item's problems are userErrors whose field starts with its index, e.g. "
                    "[tasks, 3, title].")


@strawberry.input(description="Only the fields sent change; null clears dueDate, intervalDays, assigneeId and "
                              "contractorId.")
class UpdateTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description=TITLE)
    description: str | None = strawberry.field(default=strawberry.UNSET, description=DESCRIPTION)
    category: TaskCategory | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="What part of the home it is about; null keeps it.")
    priority: TaskPriority | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How much it matters; null keeps it.")
    frequency: TaskFrequency | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How often it recurs; null keeps it. A done ONCE task made recurring "
                                              "starts again.")
    interval_days: int | None = strawberry.field(default=strawberry.UNSET, description=INTERVAL_DAYS)
    rolling: bool | None = strawberry.field(default=strawberry.UNSET, description=ROLLING + " Null keeps it.")
    due_date: date | None = strawberry.field(default=strawberry.UNSET, description=DUE_DATE + " The schedule "
                                                                                             "counts from it.")
    assignee_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description=ASSIGNEE)
    contractor_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET,
                                                           description=CONTRACTOR_ID_DESCRIPTION)
    rotation: RotationInput | None = strawberry.field(default=strawberry.UNSET,
                                                      description=ROTATION + " Null makes it FIXED.")


@strawberry.input(description="The task to delete.")
class DeleteTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR.")


@strawberry.input(description="Only the flags sent change.")
class SetTaskStateInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR.")
    in_progress: bool | None = strawberry.field(default=None, description="Started (true) or not (false).")
    cancelled: bool | None = strawberry.field(default=None, description="Cancelled (true), or back (false).")
    archived: bool | None = strawberry.field(default=None, description="Archived (true), or back in the lists "
                                                                       "(false).")


@strawberry.input(description="One time the task was done.")
class CompleteTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR; "
                                                          "INVALID_INPUT when cancelled or an already done ONCE "
                                                          "task.")
    completed_at: datetime | None = strawberry.field(
        default=None, description="When it was done, with a timezone offset; defaults to now. At most a year before "
                                  "the task was created and from 1900 on (else INVALID_INPUT); up to a day ahead is "
                                  "recorded as now, later is DATE_IN_FUTURE. An earlier date than the last "
                                  "completion records history: it moves neither lastCompletedAt nor the due date.")
    notes: str | None = strawberry.field(default=None, description="At most 10000 characters; else INVALID_INPUT.")
    cost_cents: int | None = strawberry.field(default=None, description="What it cost, in cents: 0 to "
                                                                        "1000000000000; else INVALID_INPUT.")
    photo_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=f"READY photos or videos the caller uploaded for this task "
                                          f"(COMPLETION_PHOTO); at most {MAX_FILES}. Each wrong one is a user error "
                                          "at its index: MEDIA_NOT_ALLOWED, MEDIA_NOT_READY or MEDIA_IN_USE.")
    contractor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who did the job (and charged costCents). " + CONTRACTOR_ID_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="The recurring task whose current occurrence to skip.")
class SkipTaskOccurrenceInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR; "
                                                          "INVALID_INPUT when it is cancelled or a ONCE task.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="The task whose reminders to hold back, and until when.")
class SnoozeTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task, in a residence where the caller is an EDITOR.")
    until: date | None = strawberry.field(
        default=None, description=f"The date reminders resume, in the residence's timezone: after today and at "
                                  f"most {MAX_SNOOZE_DAYS} days ahead, else INVALID_INPUT. Null (or left out) "
                                  "ends the snooze now.")


@strawberry.type
class TaskResult:
    task: Task | None = strawberry.field(default=None, description="The task as saved.")


@strawberry.type
class TasksResult:
    tasks: list[Task] | None = strawberry.field(default=None, description="The tasks created, in input order; "
                                                                          "null when nothing was created.")


@strawberry.type
class DeletedTaskResult:
    task: Task | None = strawberry.field(default=None, description="The task as it was; its own fields only.")
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted task.")


@strawberry.type
class CompletionResult:
    completion: TaskCompletion | None = strawberry.field(default=None, description="The completion recorded.")
    task: Task | None = strawberry.field(default=None, description="The task with its next due date.")


@strawberry.type
class SkipResult:
    skip: TaskCompletion | None = strawberry.field(default=None, description="The history entry recording the skip "
                                                                            "(`skipped` true).")
    task: Task | None = strawberry.field(default=None, description="The task with its next due date.")


def sent_fields(data: object, *skip: str) -> dict[str, object]:
    """The input fields the client actually sent (strawberry.UNSET marks the others)."""
    return {k: v for k, v in vars(data).items() if v is not strawberry.UNSET and k not in skip}


@strawberry.type
class TaskQuery:
    @strawberry.field(description="One task of the caller's residences. NOT_FOUND when it does not exist or the "
                                  "caller is not a member of its residence.")
    async def task(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Task:
        return Task.from_row(await tasks.get_task(info.context.require_user(), id))

    @strawberry.field(description="Open tasks (not archived, cancelled or done) overdue or due within `days`, "
                                  "across the caller's residences, oldest due first.")
    async def upcoming_tasks(
        self, info: Info[Context, None],
        days: Annotated[int, strawberry.argument(description="How many days ahead of each residence's today: 0 "
                                                             "to 3660, values outside are read as the nearest.")] = 30,
        first: First = None, after: After = None,
    ) -> Connection[Task]:
        offset, limit = page_bounds(first, after)
        rows, total = await tasks.upcoming_tasks(info.context.require_user(), days, offset, limit, utc_now())
        return make_connection([Task.from_row(r) for r in rows], offset, total)


@strawberry.type
class TaskMutation:
    @mutation("Creates a task. EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def create_task(self, info: Info[Context, None], input: CreateTaskInput) -> TaskResult:
        fields = sent_fields(input)
        fields["rotation"] = input.rotation.to_spec() if input.rotation is not None else None
        row = await tasks.create_task(info.context.require_user(), **fields, now=utc_now())  # type: ignore[arg-type]
        return TaskResult(task=Task.from_row(row))

    @mutation("Creates 1 to 50 tasks, each optionally from a catalogue template (taskTemplates), in one "
              "transaction: all of them or none; each item's problems are userErrors at [tasks, <index>, ...]. "
              "EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def create_tasks(self, info: Info[Context, None], input: CreateTasksInput) -> TasksResult:
        rows = await tasks.create_tasks(info.context.require_user(), input.residence_id,
                                        [item.to_new_task() for item in input.tasks], now=utc_now())
        return TasksResult(tasks=[Task.from_row(r) for r in rows])

    @mutation("Changes a task. A new due date or schedule makes the schedule count from there. EDITOR: FORBIDDEN "
              "for viewers, NOT_FOUND for non-members.")
    async def update_task(self, info: Info[Context, None], input: UpdateTaskInput) -> TaskResult:
        fields = sent_fields(input, "task_id")
        if input.rotation:
            fields["rotation"] = input.rotation.to_spec()
        row = await tasks.update_task(info.context.require_user(), input.task_id, **fields, now=utc_now())
        return TaskResult(task=Task.from_row(row))

    @mutation("Deletes a task with its completions; their photos are retired. EDITOR: FORBIDDEN for viewers, "
              "NOT_FOUND for non-members.")
    async def delete_task(self, info: Info[Context, None], input: DeleteTaskInput) -> DeletedTaskResult:
        row = await tasks.delete_task(info.context.require_user(), input.task_id)
        return DeletedTaskResult(task=Task.from_row(row), deleted_id=strawberry.ID(str(row.id)))

    @mutation("Starts, cancels or archives a task, or undoes any of those. EDITOR: FORBIDDEN for viewers, "
              "NOT_FOUND for non-members.")
    async def set_task_state(self, info: Info[Context, None], input: SetTaskStateInput) -> TaskResult:
        row = await tasks.set_task_state(info.context.require_user(), input.task_id, in_progress=input.in_progress,
                                         cancelled=input.cancelled, archived=input.archived)
        return TaskResult(task=Task.from_row(row))

    @mutation("Records that a task was done and moves it to its next due date (a ONCE task is then done); it "
              "ends `inProgress`. EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def complete_task(self, info: Info[Context, None], input: CompleteTaskInput) -> CompletionResult:
        completion, row = await tasks.complete_task(
            info.context.require_user(), input.task_id, completed_at=input.completed_at, notes=input.notes,
            cost_cents=input.cost_cents, photo_ids=file_ids(input.photo_ids, "photoIds"),
            contractor_id=input.contractor_id, idempotency_key=input.idempotency_key, now=utc_now(),
        )
        return CompletionResult(completion=TaskCompletion.from_row(completion), task=Task.from_row(row))

    @mutation("Skips a recurring task's current occurrence: the schedule moves on without the task being done "
              "(an overdue task skips all its missed cycles at once, to the first occurrence after today) and the "
              "history records the skip as a TaskCompletion with `skipped` true. The rotation does not move and "
              "lastCompletedAt stays. EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def skip_task_occurrence(self, info: Info[Context, None], input: SkipTaskOccurrenceInput) -> SkipResult:
        skip, row = await tasks.skip_task_occurrence(info.context.require_user(), input.task_id,
                                                     idempotency_key=input.idempotency_key, now=utc_now())
        return SkipResult(skip=TaskCompletion.from_row(skip), task=Task.from_row(row))

    @mutation("Snoozes a task's reminders until a date: no due-soon or overdue reminder is sent before it, and on "
              "that date an overdue task is reminded again; the due date stays. EDITOR: FORBIDDEN for viewers, "
              "NOT_FOUND for non-members.")
    async def snooze_task(self, info: Info[Context, None], input: SnoozeTaskInput) -> TaskResult:
        row = await tasks.snooze_task(info.context.require_user(), input.task_id, input.until, now=utc_now())
        return TaskResult(task=Task.from_row(row))
