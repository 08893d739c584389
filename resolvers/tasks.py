"""Tasks: creating and editing chores, their state, completing them, and what is due soon.

Schedules follow ``honeydue.schedule`` (shared with the reminder workers); every date is computed in
the residence's timezone, so "today" is the residence's today, not the server's.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from honeydue import catalogue
from honeydue.models import (
    Media,
    MediaPurpose,
    Membership,
    Residence,
    ResidenceRole,
    RotationMode,
    Task,
    TaskCategory,
    TaskCompletion,
    TaskFrequency,
    TaskPriority,
    User,
)
from honeydue.schedule import (
    DUE_SOON_DAYS,
    EARLIEST_DATE,
    ScheduleOverflow,
    TaskColumn,
    local_today,
    next_due_date,
    skipped_due_date,
    stored_interval_days,
    task_column,
    to_local_date,
    validate_due_date,
    validate_schedule,
    validate_snooze,
)
from honeydue.user_errors import InputRejected, Rejection, UserError, UserErrorCode, attempt, reject
from resolvers import attachments, idempotency
from resolvers import rotation as task_rotation
from resolvers.access import require_role, task_for
from resolvers.contractor_links import linked_contractor
from resolvers.ids import as_id, reference_id
from resolvers.paging import fetch_page
from resolvers.rotation import RotationSpec
from resolvers.validation import MAX_BULK_TASKS, check_length, checked_title

# completedAt may be up to a day ahead (a phone's clock or zone set wrong; it is recorded as now) and as far
# back as a year before the task was created (back-filling the history of a chore done for years).
MAX_COMPLETION_AHEAD = timedelta(days=1)
MAX_BACKFILL = timedelta(days=365)
MAX_COST_CENTS = 10**12
MAX_UPCOMING_DAYS = 3660


class _Keep:
    """Marks an update argument the client did not send (as opposed to sending null)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass(frozen=True)
class TaskFilterSpec:
    """Which tasks of a residence a list shows; hashable so it can key a DataLoader."""

    columns: frozenset[TaskColumn] | None = None
    categories: frozenset[TaskCategory] | None = None
    assignee_id: uuid.UUID | None = None
    include_archived: bool = False


def column_condition(column: TaskColumn, today: date) -> Q:
    """The SQL form of ``schedule.task_column``: the tasks that sit in ``column`` on ``today``."""
    if column is TaskColumn.CANCELLED:
        return Q(cancelled=True)
    if column is TaskColumn.COMPLETED:
        return Q(cancelled=False, completed=True)
    if column is TaskColumn.IN_PROGRESS:
        return Q(cancelled=False, completed=False, in_progress=True)
    open_ = Q(cancelled=False, completed=False, in_progress=False)
    soon = today + timedelta(days=DUE_SOON_DAYS)
    if column is TaskColumn.OVERDUE:
        return open_ & Q(due_date__lt=today)
    if column is TaskColumn.DUE_SOON:
        return open_ & Q(due_date__gte=today, due_date__lte=soon)
    return open_ & Q(Q(due_date__isnull=True), Q(due_date__gt=soon), join_type="OR")


async def filtered_tasks(residence_ids: list[uuid.UUID], spec: TaskFilterSpec, now: datetime) -> QuerySet[Task]:
    """The tasks of these residences that ``spec`` selects (columns judged on each residence's own today)."""
    query = Task.filter(residence_id__in=residence_ids)
    if not spec.include_archived:
        query = query.filter(archived=False)
    if spec.categories is not None:
        query = query.filter(category__in=list(spec.categories))
    if spec.assignee_id is not None:
        query = query.filter(assignee_id=spec.assignee_id)
    if spec.columns is not None:
        zones = dict(await Residence.filter(id__in=residence_ids).values_list("id", "timezone"))
        per_residence = [
            Q(residence_id=rid) & Q(*(column_condition(c, local_today(tz, now)) for c in spec.columns),
                                    join_type="OR")
            for rid, tz in zones.items()
        ]
        # No column asked for (or no residence) selects nothing; an empty IN is Tortoise's way to say so.
        query = query.filter(Q(*per_residence, join_type="OR")) if per_residence and spec.columns \
            else query.filter(id__in=[])
    return query


def column_of(task: Task, timezone: str, now: datetime) -> TaskColumn:
    return task_column(cancelled=task.cancelled, completed=task.completed, in_progress=task.in_progress,
                       due_date=task.due_date, today=local_today(timezone, now))


async def get_task(user: User, task_id: object) -> Task:
    return await task_for(user, task_id, ResidenceRole.VIEWER)


async def upcoming_tasks(user: User, days: int, offset: int, limit: int, now: datetime) -> tuple[list[Task], int]:
    """Open tasks overdue or due within ``days`` (in each residence's timezone), oldest due first."""
    days = max(0, min(days, MAX_UPCOMING_DAYS))
    zones = await Membership.filter(user_id=user.id).values_list("residence_id", "residence__timezone")
    if not zones:
        return [], 0
    within = Q(*(Q(residence_id=rid, due_date__lte=local_today(tz, now) + timedelta(days=days))
                 for rid, tz in zones), join_type="OR")
    query = Task.filter(within, archived=False, cancelled=False, completed=False, due_date__isnull=False)
    return await fetch_page(query, offset, limit, "due_date", "created_at", "id")


# Writing tasks -----------------------------------------------------------------------------------------


def _description(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > 10_000:
        raise reject(UserErrorCode.INVALID_INPUT, "Description must be at most 10000 characters.", "description")
    return value


def _due_date(value: date | None) -> date | None:
    problem = validate_due_date(value)
    if problem:
        raise reject(UserErrorCode.INVALID_INPUT, problem, "dueDate")
    return value


async def _assignee(residence_id: uuid.UUID, assignee_id: object) -> uuid.UUID | None:
    if assignee_id is None:
        return None
    user_id = reference_id(assignee_id)
    if not await Membership.filter(residence_id=residence_id, user_id=user_id).exists():
        raise reject(UserErrorCode.INVALID_INPUT, "The assignee must be a member of the residence.", "assigneeId")
    return user_id


def _sent(**optional: object) -> dict[str, object]:
    """The optional inputs a client sent (not None), for an idempotency digest: a field added later leaves the
    digest of requests without it unchanged, so a retry across a deploy still matches its first request."""
    return {name: value for name, value in optional.items() if value is not None}


async def create_task(
    user: User, residence_id: object, *, title: str, description: str | None = None,
    category: TaskCategory = TaskCategory.OTHER, priority: TaskPriority = TaskPriority.MEDIUM,
    frequency: TaskFrequency = TaskFrequency.ONCE, interval_days: int | None = None, rolling: bool = False,
    due_date: date | None = None, assignee_id: object = None, contractor_id: object = None,
    rotation: RotationSpec | None = None,
    idempotency_key: str | None = None, now: datetime,
) -> Task:
    """A new task (EDITOR). A recurring task without a due date is due today, in the residence's timezone.

    With an ``idempotency_key`` a repeat returns the task the first request created (``resolvers.idempotency``).
    """
    request = idempotency.request(user, idempotency_key, "createTask", dict(
        residence_id=residence_id, title=title, description=description, category=category, priority=priority,
        frequency=frequency, interval_days=interval_days, rolling=rolling, due_date=due_date,
        assignee_id=assignee_id, **_sent(contractor_id=contractor_id),
        **({} if rotation is None else {"rotation": [rotation.mode, [str(m) for m in rotation.member_ids]]})))

    async def create() -> Task:
        rid = as_id(residence_id)
        await require_role(user, rid, ResidenceRole.EDITOR)
        residence = await Residence.get(id=rid)
        values = await new_task_values(residence, NewTask(
            title=title, description=description, category=category, priority=priority, frequency=frequency,
            interval_days=interval_days, rolling=rolling, due_date=due_date, assignee_id=assignee_id,
            contractor_id=contractor_id, rotation=rotation), now)
        async with idempotency.claimed(request) as task_id:
            return await insert_task(values, id=task_id, created_by=user)

    replay = idempotency.replay_existing(
        Task, lambda task_id: task_for(user, task_id, ResidenceRole.VIEWER))

    return await idempotency.once(request, create, replay)


@dataclass(frozen=True)
class NewTask:
    """One task as a client asked for it (createTask's input, or one item of createTasks).

    ``None`` in ``title``, ``description``, ``category``, ``frequency`` or ``interval_days`` means "not
    given": the template's value when there is a ``template_id``, else the usual default.
    """

    title: str | None = None
    description: str | None = None
    category: TaskCategory | None = None
    priority: TaskPriority = TaskPriority.MEDIUM
    frequency: TaskFrequency | None = None
    interval_days: int | None = None
    rolling: bool = False
    due_date: date | None = None
    assignee_id: object = None
    contractor_id: object = None
    template_id: str | None = None
    rotation: RotationSpec | None = None


async def new_task_values(residence: Residence, task: NewTask, now: datetime) -> dict[str, Any]:
    """The checked column values of a new task in ``residence``; the one validation of createTask and createTasks.

    A ``template_id`` fills title, description, category, frequency and intervalDays from the catalogue where
    the client gave none; an unknown one is INVALID_INPUT on ``templateId``. Raises InputRejected with fields
    relative to the task (``["title"]``).
    """
    template = None
    if task.template_id is not None:
        template = catalogue.template(task.template_id)
        if template is None:
            raise reject(UserErrorCode.INVALID_INPUT, "No task template has this id; see taskTemplates.",
                         "templateId")
    title = task.title if task.title is not None or template is None else template.title
    description = task.description if task.description is not None or template is None else template.description
    category = task.category or (template.category if template else TaskCategory.OTHER)
    frequency = task.frequency or (template.frequency if template else TaskFrequency.ONCE)
    interval_days = task.interval_days
    if interval_days is None and template is not None and frequency == template.frequency:
        interval_days = template.interval_days
    problem = validate_schedule(frequency, interval_days)
    if problem:
        raise reject(UserErrorCode.INVALID_SCHEDULE, problem, "intervalDays")
    assignee = await _assignee(residence.id, task.assignee_id)
    values: dict[str, Any] = dict(title=checked_title(title), description=_description(description),
                                  assignee_id=assignee,
                                  contractor_id=await linked_contractor(residence.id, task.contractor_id))
    if task.rotation is not None:
        values["rotation"] = await task_rotation.checked(residence.id, task.rotation)
        if assignee is not None:
            task_rotation.check_assignee(values["rotation"], assignee)
    due_date = _due_date(task.due_date)
    if due_date is None and frequency is not TaskFrequency.ONCE:
        due_date = local_today(residence.timezone, now)
    return dict(
        residence_id=residence.id, category=category, priority=task.priority, frequency=frequency,
        interval_days=stored_interval_days(frequency, interval_days), rolling=task.rolling, due_date=due_date,
        anchor_date=due_date, template_id=template.id if template else None, **values,
    )


async def insert_task(values: dict[str, Any], **extra: Any) -> Task:
    """Write a task from ``new_task_values`` (inside the caller's transaction), with its rotation if it has one."""
    columns = dict(values)
    checked_rotation = columns.pop("rotation", None)
    task = await Task.create(**columns, **extra)
    if checked_rotation is not None:
        await task_rotation.apply(task, checked_rotation)
    return task


async def create_tasks(user: User, residence_id: object, tasks: Sequence[NewTask], now: datetime) -> list[Task]:
    """1 to 50 new tasks in one transaction (EDITOR): all are created, or none.

    Every item is checked as createTask checks its input (``new_task_values``); each problem is a user error
    whose field starts with the item's index (``["tasks", "3", "title"]``), and every item's problems are
    reported at once.
    """
    if not tasks:
        raise reject(UserErrorCode.INVALID_INPUT, "Give at least one task.", "tasks")
    check_length(tasks, MAX_BULK_TASKS, "tasks")
    rid = as_id(residence_id)
    await require_role(user, rid, ResidenceRole.EDITOR)
    residence = await Residence.get(id=rid)
    checked: list[dict[str, Any]] = []
    errors: list[UserError] = []
    for index, item in enumerate(tasks):
        outcome = await attempt(new_task_values(residence, item, now))
        if isinstance(outcome, Rejection):
            errors.extend(UserError(e.code, e.message, ["tasks", str(index), *(e.field or [])])
                          for e in outcome.errors)
        else:
            checked.append(outcome)
    if errors:
        raise InputRejected(*errors)
    async with in_transaction():
        return [await insert_task(values, created_by=user) for values in checked]


async def update_task(
    user: User, task_id: object, *, title: Any = KEEP, description: Any = KEEP, category: Any = KEEP,
    priority: Any = KEEP, frequency: Any = KEEP, interval_days: Any = KEEP, rolling: Any = KEEP,
    due_date: Any = KEEP, assignee_id: Any = KEEP, contractor_id: Any = KEEP, rotation: Any = KEEP,
    now: datetime,
) -> Task:
    """Change what the client sent (EDITOR); ``null`` clears dueDate, intervalDays, assigneeId and contractorId.

    A new due date or schedule re-anchors the fixed schedule there, so slots count from what the user
    last said rather than from the task's original date. ``rotation`` (a RotationSpec) replaces the
    rotation; ``null`` makes it FIXED. A rotating task's assignee must be one of its members.
    """
    task = await task_for(user, task_id, ResidenceRole.EDITOR)
    rid: uuid.UUID = task.residence_id
    new_rotation: task_rotation.CheckedRotation | None = None
    if rotation is not KEEP:
        spec = rotation if rotation is not None else RotationSpec(RotationMode.FIXED)
        new_rotation = await task_rotation.checked(rid, spec)
    if title is not KEEP:
        task.title = checked_title(title)
    if description is not KEEP:
        task.description = _description(description)
    for name, value in (("category", category), ("priority", priority), ("rolling", rolling)):
        if value is not KEEP and value is not None:
            setattr(task, name, value)
    if assignee_id is not KEEP:
        task.assignee_id = await _assignee(rid, assignee_id)
        if new_rotation is None:
            new_rotation_members = await task_rotation.members_of(task.id)
            current = task_rotation.CheckedRotation(RotationMode(task.rotation_mode), new_rotation_members)
            task_rotation.check_assignee(current, task.assignee_id)
        else:
            task_rotation.check_assignee(new_rotation, task.assignee_id)
    if contractor_id is not KEEP:
        task.contractor_id = await linked_contractor(rid, contractor_id)
    schedule_changed = frequency is not KEEP or interval_days is not KEEP
    new_frequency = TaskFrequency(task.frequency if frequency in (KEEP, None) else frequency)
    new_interval = task.interval_days if interval_days is KEEP else interval_days
    if schedule_changed:
        problem = validate_schedule(new_frequency, new_interval)
        if problem:
            raise reject(UserErrorCode.INVALID_SCHEDULE, problem, "intervalDays")
        task.frequency = new_frequency
        task.interval_days = stored_interval_days(new_frequency, new_interval)
    if due_date is not KEEP:
        task.due_date = _due_date(due_date)
        task.anchor_date = due_date
    elif schedule_changed:
        task.anchor_date = task.due_date
    if task.completed and new_frequency is not TaskFrequency.ONCE:
        # A finished one-off made recurring starts again, due on the date given or today.
        task.completed = False
        if task.due_date is None:
            residence = await Residence.get(id=rid)
            task.due_date = task.anchor_date = local_today(residence.timezone, now)
    async with in_transaction():
        await task.save()
        if new_rotation is not None:
            await task_rotation.apply(task, new_rotation)
    return task


async def delete_task(user: User, task_id: object) -> Task:
    """Delete a task with its completions (EDITOR); their photos are discarded with it."""
    task = await task_for(user, task_id, ResidenceRole.EDITOR)
    async with in_transaction():
        photos = Media.filter(purpose=MediaPurpose.COMPLETION_PHOTO, target_id=task.id)
        await attachments.discard(photos, "Deleted with its task.")
        await task.delete()
    return task


async def set_task_state(
    user: User, task_id: object, *, in_progress: bool | None, cancelled: bool | None, archived: bool | None
) -> Task:
    """Move a task on the board by hand: start it, cancel it, archive it, or undo any of those (EDITOR)."""
    task = await task_for(user, task_id, ResidenceRole.EDITOR)
    fields = []
    for name, value in (("in_progress", in_progress), ("cancelled", cancelled), ("archived", archived)):
        if value is not None:
            setattr(task, name, value)
            fields.append(name)
    if fields:
        await task.save(update_fields=[*fields, "updated_at"])
    return task


def _completion_time_problem(completed_at: datetime | None, task: Task, now: datetime) -> UserError | None:
    """Why ``completedAt`` is refused: it must lie between a year before the task's creation and a day ahead."""
    if completed_at is None:
        return None
    where = ["completedAt"]
    if completed_at.tzinfo is None or completed_at.utcoffset() is None:
        return UserError(UserErrorCode.INVALID_INPUT, "completedAt needs a timezone offset.", where)
    if completed_at.date() < EARLIEST_DATE:
        return UserError(UserErrorCode.INVALID_INPUT, f"completedAt must be after {EARLIEST_DATE.isoformat()}.",
                         where)
    if completed_at < task.created_at - MAX_BACKFILL:
        return UserError(UserErrorCode.INVALID_INPUT, "completedAt may be at most a year before the task was "
                         "created.", where)
    if completed_at > now + MAX_COMPLETION_AHEAD:
        return UserError(UserErrorCode.DATE_IN_FUTURE, "A task cannot be completed in the future.", where)
    return None


def _not_completable(task: Task) -> UserError | None:
    if task.cancelled:
        return UserError(UserErrorCode.INVALID_INPUT, "A cancelled task cannot be completed.", ["taskId"])
    if task.completed:
        return UserError(UserErrorCode.INVALID_INPUT, "This one-off task is already done.", ["taskId"])
    return None


async def complete_task(
    user: User, task_id: object, *, completed_at: datetime | None, notes: str | None, cost_cents: int | None,
    photo_ids: list[uuid.UUID], contractor_id: object = None, idempotency_key: str | None = None,
    now: datetime,
) -> tuple[TaskCompletion, Task]:
    """Record that the task was done and move it to its next due date (EDITOR).

    Back-filling an old completion records history without moving ``lastCompletedAt`` or the due date
    backwards. Every completion, back-filled or not, ends ``inProgress``; a one-off task is then done. A
    schedule whose next date would be past year 9999 is INVALID_SCHEDULE. With an ``idempotency_key`` a
    repeat returns the first request's completion and changes nothing.
    """
    request = idempotency.request(user, idempotency_key, "completeTask", dict(
        task_id=task_id, completed_at=completed_at, notes=notes, cost_cents=cost_cents,
        photo_ids=[str(p) for p in photo_ids], **_sent(contractor_id=contractor_id)))

    async def complete() -> tuple[TaskCompletion, Task]:
        task = await task_for(user, task_id, ResidenceRole.EDITOR)
        errors: list[UserError] = []
        time_problem = _completion_time_problem(completed_at, task, now)
        if time_problem is not None:
            errors.append(time_problem)
        # Up to a day ahead (a phone's clock or zone set wrong) is recorded as now.
        when = now if completed_at is None else min(completed_at, now)
        if cost_cents is not None and not 0 <= cost_cents <= MAX_COST_CENTS:
            errors.append(UserError(UserErrorCode.INVALID_INPUT, "Cost must be zero or more cents.", ["costCents"]))
        if len(notes or "") > 10_000:
            errors.append(UserError(UserErrorCode.INVALID_INPUT, "Notes must be at most 10000 characters.",
                                    ["notes"]))
        state = _not_completable(task)
        if state is not None:
            errors.append(state)
        if errors:
            raise InputRejected(*errors)
        photos = await attachments.check_attachable(user, photo_ids, MediaPurpose.COMPLETION_PHOTO, task.id,
                                                    "photoIds")
        contractor = await linked_contractor(task.residence_id, contractor_id)
        async with idempotency.claimed(request) as completion_id:
            task, residence = await _locked(task.id, _not_completable)
            completion = await TaskCompletion.create(id=completion_id, task=task, completed_at=when,
                                                     completed_by=user, notes=(notes or "").strip(),
                                                     cost_cents=cost_cents, contractor_id=contractor)
            await attachments.attach_to_completion(photos, completion.id, "photoIds")
            task.in_progress = False
            try:
                moved = _advance(task, when, residence.timezone, now)
            except ScheduleOverflow:
                # Raising inside the transaction also drops the completion just recorded.
                raise _overflow() from None
            if moved and not task.completed:
                # The occurrence is done: the next one is the next member's, and any snooze was for this one.
                await task_rotation.move_on(task)
                task.snoozed_until = None
            await task.save()
        return completion, task

    return await idempotency.once(request, complete, functools.partial(_replay_completion, user))


async def _locked(task_id: uuid.UUID, problem_of: Callable[[Task], UserError | None]) -> tuple[Task, Residence]:
    """The task, locked for the rest of the caller's transaction, and its residence.

    The lock makes two people completing or skipping one task at once move its schedule once each, in turn.
    ``problem_of`` is checked again under the lock: what was checked before may have changed while this request
    waited for it.
    """
    task = await Task.filter(id=task_id).select_for_update().get()
    problem = problem_of(task)
    if problem is not None:
        raise InputRejected(problem)
    return task, await Residence.get(id=task.residence_id)


async def _replay_completion(user: User, completion_id: uuid.UUID) -> tuple[TaskCompletion, Task]:
    """What a repeated completeTask or skipTaskOccurrence answers: the first one's record and its task now."""
    completion = await TaskCompletion.get_or_none(id=completion_id)
    if completion is None:
        raise idempotency.gone()
    return completion, await task_for(user, completion.task_id, ResidenceRole.VIEWER)


def _overflow() -> InputRejected:
    return reject(UserErrorCode.INVALID_SCHEDULE, "The next due date would be past the year 9999; change the "
                  "task's due date or schedule first.", "taskId")


def _advance(task: Task, when: datetime, timezone: str, now: datetime) -> bool:
    """Move the schedule for a completion at ``when``; False when it only records history.

    A completion older than the newest only records history. Neither ``lastCompletedAt`` nor the due date
    ever moves backwards (a back-dated completion of a rolling task would otherwise pull the next due date
    to one period after that old date), and the next due date is never before today
    (``schedule.next_due_date``).
    """
    if task.last_completed_at is not None and when < task.last_completed_at:
        return False
    completed_on = to_local_date(when, timezone)
    task.last_completed_at = when
    if task.frequency == TaskFrequency.ONCE:
        task.completed = True
        task.due_date = None
        return True
    anchor = task.anchor_date or task.due_date or completed_on
    following = next_due_date(task.frequency, task.interval_days, task.rolling, anchor, task.due_date, completed_on,
                              today=local_today(timezone, now))
    if task.due_date is None or following is None or following > task.due_date:
        task.due_date = following
    return True


def _not_skippable(task: Task) -> UserError | None:
    if task.cancelled:
        return UserError(UserErrorCode.INVALID_INPUT, "A cancelled task cannot be skipped.", ["taskId"])
    if task.frequency == TaskFrequency.ONCE:
        return UserError(UserErrorCode.INVALID_INPUT, "A one-off (ONCE) task has no next occurrence to skip to; "
                         "cancel it instead.", ["taskId"])
    return None


async def skip_task_occurrence(
    user: User, task_id: object, *, idempotency_key: str | None = None, now: datetime,
) -> tuple[TaskCompletion, Task]:
    """Move a recurring task to its next occurrence without doing it, and record the skip (EDITOR).

    The skip is a history entry (a TaskCompletion with ``skipped``) by the caller, at ``now``, without notes
    or cost; it moves neither ``lastCompletedAt`` nor the rotation (it stays the same member's turn). The
    next due date follows ``schedule.skipped_due_date``: an overdue task skips all its missed cycles at once.
    A ONCE or cancelled task is INVALID_INPUT; ``inProgress`` and a snooze end with the occurrence. With an
    ``idempotency_key`` a retry returns the first skip instead of skipping a second occurrence.
    """
    request = idempotency.request(user, idempotency_key, "skipTaskOccurrence", dict(task_id=task_id))

    async def skip() -> tuple[TaskCompletion, Task]:
        task = await task_for(user, task_id, ResidenceRole.EDITOR)
        problem = _not_skippable(task)
        if problem is not None:
            raise InputRejected(problem)
        async with idempotency.claimed(request) as skip_id:
            task, residence = await _locked(task.id, _not_skippable)
            today = local_today(residence.timezone, now)
            try:
                following = skipped_due_date(task.frequency, task.interval_days, task.rolling,
                                             task.anchor_date or task.due_date or today, task.due_date, today=today)
            except ScheduleOverflow:
                raise _overflow() from None
            record = await TaskCompletion.create(id=skip_id, task=task, completed_at=now, completed_by=user,
                                                 skipped=True)
            task.due_date = following
            task.in_progress = False
            task.snoozed_until = None
            await task.save(update_fields=["due_date", "in_progress", "snoozed_until", "updated_at"])
        return record, task

    return await idempotency.once(request, skip, functools.partial(_replay_completion, user))


async def snooze_task(user: User, task_id: object, until: date | None, now: datetime) -> Task:
    """Hold the task's reminders back until ``until`` (EDITOR); the due date stays. ``None`` ends a snooze.

    ``until`` must be after the residence's today and at most ``MAX_SNOOZE_DAYS`` ahead, else INVALID_INPUT
    on ``until``. Reminders resume on that date (workers.reminders); completing or skipping the task ends
    the snooze with its occurrence.
    """
    task = await task_for(user, task_id, ResidenceRole.EDITOR)
    if until is not None:
        residence = await Residence.get(id=task.residence_id)
        problem = validate_snooze(until, local_today(residence.timezone, now))
        if problem:
            raise reject(UserErrorCode.INVALID_INPUT, problem, "until")
    task.snoozed_until = until
    await task.save(update_fields=["snoozed_until", "updated_at"])
    return task
