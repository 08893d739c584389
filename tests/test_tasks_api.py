"""Tasks over GraphQL: create/update/delete, state, completing (schedules, photos), filters, upcomingTasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from honeydue import models
from honeydue.models import MediaPurpose, MediaStatus
from tests.conftest import FROZEN_NOW, FrozenClock
from tests.plugins.domain import World, error_code, make_actor, make_world, ready_media

TASK_FIELDS = "id title dueDate column frequency intervalDays rolling inProgress cancelled archived completed " \
              "assignee { id } lastCompletedAt"
CREATE = f"""mutation($i: CreateTaskInput!) {{ createTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
UPDATE = f"""mutation($i: UpdateTaskInput!) {{ updateTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
DELETE = "mutation($i: DeleteTaskInput!) { deleteTask(input: $i) { deletedId task { id } } }"
STATE = "mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { inProgress cancelled archived column } } }"
COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) {
  completion { id completedAt notes costCents completedBy { id } photos { id } task { id } }
  task { dueDate column inProgress completed lastCompletedAt } userErrors { field code } } }"""
TASK = "query($id: ID!) { task(id: $id) { id title residence { id } completions(first: 2) { totalCount " \
       "pageInfo { hasNextPage } edges { node { notes } } } } }"
LIST = """query($id: ID!, $filter: TaskFilter) { residence(id: $id) { tasks(filter: $filter) {
  totalCount edges { node { title column } } } } }"""
UPCOMING = "query($days: Int) { upcomingTasks(days: $days) { totalCount edges { node { title dueDate } } } }"

# Every test here runs at FROZEN_NOW (the ``frozen_now`` fixture): "today" is the same for the code and the test.
pytestmark = pytest.mark.usefixtures("frozen_now")
TODAY = FROZEN_NOW.date()


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


# Tasks made here have existed for years, so the completions back-filled into 2024 and 2025 lie within a year
# of their creation (completedAt may reach back at most a year before it). Shifting keeps their order.
AGE = timedelta(days=3 * 365)


async def make_task(world: World, age: timedelta = AGE, **fields: object) -> models.Task:
    fields.setdefault("title", "Task")
    due = fields.get("due_date")
    task = await models.Task.create(residence=world.residence, anchor_date=due, **fields)
    # auto_now_add ignores a given value, hence the update.
    await models.Task.filter(id=task.id).update(created_at=task.created_at - age)
    await task.refresh_from_db()
    return task


async def create(api, world: World, **fields: object) -> dict:
    result = await api.execute(CREATE, {"i": {"residenceId": world.rid, "title": "Filter", **fields}},
                               token=world.editor.token)
    return result["data"]["createTask"]


async def complete(api, world: World, task: models.Task, **fields: object) -> dict:
    result = await api.execute(COMPLETE, {"i": {"taskId": str(task.id), **fields}}, token=world.editor.token)
    return result["data"]["completeTask"]


async def test_create_recurring_task_is_due_today(api, world) -> None:
    payload = await create(api, world, frequency="MONTHLY", category="HVAC", priority="HIGH",
                           assigneeId=world.viewer.id)
    task = payload["task"]
    assert payload["userErrors"] == []
    assert task["dueDate"] == TODAY.isoformat() and task["column"] == "DUE_SOON"
    assert task["assignee"] == {"id": world.viewer.id}
    row = await models.Task.get(id=task["id"])
    assert (row.category, row.priority, row.anchor_date) == ("HVAC", "HIGH", TODAY)


async def test_create_one_off_without_date_is_upcoming(api, world) -> None:
    task = (await create(api, world))["task"]
    assert (task["dueDate"], task["column"], task["frequency"]) == (None, "UPCOMING", "ONCE")


async def test_create_custom_keeps_interval_others_drop_it(api, world) -> None:
    assert (await create(api, world, frequency="CUSTOM", intervalDays=10))["task"]["intervalDays"] == 10
    assert (await create(api, world, frequency="WEEKLY", intervalDays=10))["task"]["intervalDays"] is None


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"title": "  "}, "INVALID_INPUT", "title"),
        ({"title": "x" * 201}, "INVALID_INPUT", "title"),
        ({"frequency": "CUSTOM"}, "INVALID_SCHEDULE", "intervalDays"),
        ({"frequency": "CUSTOM", "intervalDays": 0}, "INVALID_SCHEDULE", "intervalDays"),
        ({"frequency": "CUSTOM", "intervalDays": 2147483647}, "INVALID_SCHEDULE", "intervalDays"),
        ({"frequency": "CUSTOM", "intervalDays": 36601}, "INVALID_SCHEDULE", "intervalDays"),
        ({"frequency": "ANNUAL", "dueDate": "9999-12-31"}, "INVALID_INPUT", "dueDate"),
        ({"dueDate": "9001-01-01"}, "INVALID_INPUT", "dueDate"),
        ({"dueDate": "0001-01-01"}, "INVALID_INPUT", "dueDate"),
        ({"assigneeId": "nope"}, "INVALID_INPUT", "assigneeId"),
        ({"assigneeId": "outsider"}, "INVALID_INPUT", "assigneeId"),
    ],
)
async def test_create_task_user_errors(api, world, fields, code, field) -> None:
    if fields.get("assigneeId") == "outsider":
        fields = {"assigneeId": world.outsider.id}
    payload = await create(api, world, **fields)
    assert payload == {"task": None, "userErrors": [{"field": [field], "code": code}]}
    assert await models.Task.all().count() == 0


# Reading needs VIEWER; every write needs EDITOR; non-members are told the task does not exist.
OPERATIONS = {
    "task": (TASK, lambda w, t: {"id": str(t.id)}, "viewer"),
    "createTask": (CREATE, lambda w, t: {"i": {"residenceId": w.rid, "title": "x"}}, "editor"),
    "updateTask": (UPDATE, lambda w, t: {"i": {"taskId": str(t.id), "title": "x"}}, "editor"),
    "deleteTask": (DELETE, lambda w, t: {"i": {"taskId": str(t.id)}}, "editor"),
    "setTaskState": (STATE, lambda w, t: {"i": {"taskId": str(t.id), "archived": True}}, "editor"),
    "completeTask": (COMPLETE, lambda w, t: {"i": {"taskId": str(t.id)}}, "editor"),
}
EXPECTED = {
    "viewer": {"owner": None, "editor": None, "viewer": None, "outsider": "NOT_FOUND"},
    "editor": {"owner": None, "editor": None, "viewer": "FORBIDDEN", "outsider": "NOT_FOUND"},
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_task_roles(api, world, operation) -> None:
    query, variables, minimum = OPERATIONS[operation]
    # Refused roles first: each must leave the task exactly as it was for the next one.
    for role in ("outsider", "viewer", "editor", "owner"):
        task = await make_task(world, frequency="WEEKLY", due_date=TODAY)
        result = await api.execute(query, variables(world, task), token=world.actor(role).token)
        expected = EXPECTED[minimum][role]
        assert error_code(result) == expected, (role, result)
        if expected is not None:
            unchanged = await models.Task.get(id=task.id)
            assert (unchanged.title, unchanged.archived, unchanged.due_date) == ("Task", False, TODAY)
            assert await models.TaskCompletion.all().count() == 0
        await models.Task.all().delete()


async def test_unknown_and_malformed_task_ids(api, world) -> None:
    for task_id in ("junk", "00000000-0000-0000-0000-000000000000"):
        assert error_code(await api.execute(TASK, {"id": task_id}, token=world.owner.token)) == "NOT_FOUND"


async def test_update_task_changes_only_what_is_sent(api, world) -> None:
    task = await make_task(world, frequency="CUSTOM", interval_days=3, due_date=TODAY, assignee=world.viewer.user,
                           description="keep")
    result = await api.execute(UPDATE, {"i": {"taskId": str(task.id), "title": "New", "assigneeId": None,
                                              "frequency": "WEEKLY"}}, token=world.editor.token)
    updated = result["data"]["updateTask"]["task"]
    assert (updated["title"], updated["assignee"], updated["frequency"], updated["intervalDays"]) == \
        ("New", None, "WEEKLY", None)
    row = await models.Task.get(id=task.id)
    assert (row.description, row.due_date, row.anchor_date) == ("keep", TODAY, TODAY)
    moved = TODAY + timedelta(days=40)
    result = await api.execute(UPDATE, {"i": {"taskId": str(task.id), "dueDate": moved.isoformat()}},
                               token=world.editor.token)
    assert result["data"]["updateTask"]["task"]["column"] == "UPCOMING"
    assert (await models.Task.get(id=task.id)).anchor_date == moved


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"frequency": "CUSTOM"}, "INVALID_SCHEDULE", "intervalDays"),
        ({"intervalDays": 0, "frequency": "CUSTOM"}, "INVALID_SCHEDULE", "intervalDays"),
        ({"intervalDays": 2147483647, "frequency": "CUSTOM"}, "INVALID_SCHEDULE", "intervalDays"),
        ({"dueDate": "9999-12-31"}, "INVALID_INPUT", "dueDate"),
        ({"title": ""}, "INVALID_INPUT", "title"),
        ({"assigneeId": "00000000-0000-0000-0000-000000000000"}, "INVALID_INPUT", "assigneeId"),
    ],
)
async def test_update_task_user_errors(api, world, fields, code, field) -> None:
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY)
    result = await api.execute(UPDATE, {"i": {"taskId": str(task.id), **fields}}, token=world.editor.token)
    assert result["data"]["updateTask"] == {"task": None, "userErrors": [{"field": [field], "code": code}]}
    row = await models.Task.get(id=task.id)
    assert (row.frequency, row.due_date) == ("WEEKLY", TODAY)


async def test_delete_task_discards_its_photos(api, world) -> None:
    task, other = await make_task(world), await make_task(world)
    photo = await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    kept = await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, other.id, world.residence.id)
    result = await api.execute(DELETE, {"i": {"taskId": str(task.id)}}, token=world.editor.token)
    assert result["data"]["deleteTask"] == {"deletedId": str(task.id), "task": {"id": str(task.id)}}
    assert not await models.Task.exists(id=task.id)
    assert (await models.Media.get(id=photo.id)).status == MediaStatus.REJECTED
    assert (await models.Media.get(id=kept.id)).status == MediaStatus.READY


async def test_set_task_state_moves_columns(api, world) -> None:
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY - timedelta(days=3))

    async def state(**flags: bool) -> dict:
        result = await api.execute(STATE, {"i": {"taskId": str(task.id), **flags}}, token=world.editor.token)
        return result["data"]["setTaskState"]["task"]

    assert (await state(inProgress=True))["column"] == "IN_PROGRESS"
    assert (await state(cancelled=True))["column"] == "CANCELLED"
    assert await state(cancelled=False, inProgress=False, archived=True) == {
        "inProgress": False, "cancelled": False, "archived": True, "column": "OVERDUE"}


# Completing: (frequency, rolling, interval, due date, completed at (UTC), residence tz, next due date).
# Dates are relative to today: the next due date is never in the past (docs/scheduling.md), so a completion
# recorded today decides it. Month ends, leap years and CUSTOM intervals are tabled in tests/test_schedule.py.
D = date
NOW = FROZEN_NOW
DAY = timedelta(days=1)
# 20:00 UTC yesterday: today's morning in Auckland (UTC+12/+13), yesterday in UTC.
YESTERDAY_EVENING = datetime.combine(TODAY - DAY, datetime.min.time(), UTC) + timedelta(hours=20)


def _monthly_31st_after_today() -> date:
    """The first monthly slot anchored on 2025-01-31 that is after today, found by walking the months."""
    year, month = 2025, 1
    while True:
        last = (date(year + month // 12, month % 12 + 1, 1) - DAY)  # the month's last day (31st or clamped)
        if last > TODAY:
            return last
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


SCHEDULES = [
    pytest.param("WEEKLY", False, None, TODAY - 21 * DAY, NOW, "UTC", TODAY + 7 * DAY,
                 id="fixed-three-cycles-late-to-the-first-slot-after-the-completion"),
    pytest.param("WEEKLY", False, None, TODAY - 21 * DAY, NOW - 10 * DAY, "UTC", TODAY,
                 id="fixed-backdated-never-in-the-past-slot-today"),
    pytest.param("WEEKLY", False, None, TODAY - 20 * DAY, NOW - 10 * DAY, "UTC", TODAY + DAY,
                 id="fixed-backdated-never-in-the-past-next-slot"),
    pytest.param("WEEKLY", False, None, TODAY + 3 * DAY, NOW, "UTC", TODAY + 10 * DAY,
                 id="fixed-early-moves-past-the-due-date"),
    pytest.param("MONTHLY", False, None, D(2025, 1, 31), NOW, "UTC", _monthly_31st_after_today(),
                 id="fixed-monthly-31st-missed-for-months-to-next-month-end"),
    pytest.param("CUSTOM", False, 10, TODAY - 25 * DAY, NOW, "UTC", TODAY + 5 * DAY, id="custom-fixed"),
    pytest.param("WEEKLY", True, None, TODAY - 10 * DAY, NOW, "UTC", TODAY + 7 * DAY,
                 id="rolling-counts-from-completion"),
    pytest.param("WEEKLY", True, None, TODAY - 10 * DAY, NOW - 3 * DAY, "UTC", TODAY + 4 * DAY,
                 id="rolling-backdated-counts-from-completion"),
    pytest.param("WEEKLY", True, None, TODAY - 30 * DAY, NOW - 10 * DAY, "UTC", TODAY,
                 id="rolling-backdated-a-period-ago-is-due-today"),
    pytest.param("WEEKLY", True, None, TODAY - 10 * DAY, YESTERDAY_EVENING, "Pacific/Auckland", TODAY + 7 * DAY,
                 id="residence-timezone-decides-the-day-auckland"),
    pytest.param("WEEKLY", True, None, TODAY - 10 * DAY, YESTERDAY_EVENING, "UTC", TODAY + 6 * DAY,
                 id="residence-timezone-decides-the-day-utc"),
]


@pytest.mark.parametrize(("frequency", "rolling", "interval", "due", "completed_at", "tz", "expected"), SCHEDULES)
async def test_complete_moves_due_date(api, world, frequency, rolling, interval, due, completed_at, tz,
                                       expected) -> None:
    await models.Residence.filter(id=world.residence.id).update(timezone=tz)
    task = await make_task(world, frequency=frequency, rolling=rolling, interval_days=interval, due_date=due,
                           in_progress=True)
    payload = await complete(api, world, task, completedAt=completed_at.isoformat(), notes=" done ", costCents=1250)
    assert payload["userErrors"] == []
    assert payload["task"]["dueDate"] == expected.isoformat()
    assert payload["task"]["column"] != "OVERDUE"
    assert payload["task"]["inProgress"] is False
    completion = payload["completion"]
    assert (completion["notes"], completion["costCents"], completion["completedBy"]) == \
        ("done", 1250, {"id": world.editor.id})
    assert datetime.fromisoformat(completion["completedAt"]) == completed_at
    assert payload["task"]["lastCompletedAt"] == completion["completedAt"]


async def test_complete_one_off_task(api, world, frozen_now: FrozenClock) -> None:
    task = await make_task(world, due_date=TODAY)
    payload = await complete(api, world, task)
    assert payload["task"]["dueDate"] is None
    assert payload["task"]["column"] == "COMPLETED" and payload["task"]["completed"] is True
    assert datetime.fromisoformat(payload["completion"]["completedAt"]) == frozen_now.now
    again = await complete(api, world, task)
    assert again["userErrors"] == [{"field": ["taskId"], "code": "INVALID_INPUT"}]


async def test_backdated_completion_keeps_the_schedule(api, world) -> None:
    task = await make_task(world, frequency="WEEKLY", rolling=True, due_date=TODAY - 60 * DAY)
    newest = NOW - 5 * DAY
    await complete(api, world, task, completedAt=newest.isoformat())
    payload = await complete(api, world, task, completedAt=(NOW - 20 * DAY).isoformat())
    assert payload["task"]["dueDate"] == (TODAY + 2 * DAY).isoformat()
    assert datetime.fromisoformat(payload["task"]["lastCompletedAt"]) == newest


async def test_backfilled_completion_still_ends_in_progress(api, world) -> None:
    task = await make_task(world, frequency="WEEKLY", rolling=True, due_date=TODAY - 60 * DAY)
    await complete(api, world, task, completedAt=(NOW - 5 * DAY).isoformat())
    await models.Task.filter(id=task.id).update(in_progress=True)
    payload = await complete(api, world, task, completedAt=(NOW - 20 * DAY).isoformat())
    assert payload["userErrors"] == []
    assert payload["task"]["inProgress"] is False and payload["task"]["dueDate"] == (TODAY + 2 * DAY).isoformat()
    assert (await models.Task.get(id=task.id)).in_progress is False


async def test_backdated_first_completion_never_pulls_the_due_date_back(api, world) -> None:
    task = await make_task(world, frequency="WEEKLY", rolling=True, due_date=TODAY)
    month_ago = FROZEN_NOW - timedelta(days=30)
    payload = await complete(api, world, task, completedAt=month_ago.isoformat())
    assert payload["userErrors"] == []
    assert payload["task"]["dueDate"] == TODAY.isoformat()  # not a week after that old date
    assert datetime.fromisoformat(payload["task"]["lastCompletedAt"]) == month_ago
    newer = await complete(api, world, task)
    assert newer["task"]["dueDate"] == (TODAY + timedelta(weeks=1)).isoformat()
    older = await complete(api, world, task, completedAt=(month_ago - timedelta(days=1)).isoformat())
    assert older["task"]["lastCompletedAt"] == newer["task"]["lastCompletedAt"]
    assert older["task"]["dueDate"] == newer["task"]["dueDate"]


async def test_completed_at_lies_between_a_year_before_creation_and_a_day_ahead(
    api, world, frozen_now: FrozenClock
) -> None:
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY, age=timedelta(days=10))
    created = task.created_at
    too_old = await complete(api, world, task, completedAt=(created - timedelta(days=366)).isoformat())
    assert too_old["userErrors"] == [{"field": ["completedAt"], "code": "INVALID_INPUT"}]
    too_late = await complete(api, world, task, completedAt=(frozen_now.now + timedelta(hours=25)).isoformat())
    assert too_late["userErrors"] == [{"field": ["completedAt"], "code": "DATE_IN_FUTURE"}]
    assert await models.TaskCompletion.all().count() == 0
    # A phone an hour ahead is believed up to now; a back-fill within the year is history.
    ahead = await complete(api, world, task, completedAt=(frozen_now.now + timedelta(hours=1)).isoformat())
    assert ahead["userErrors"] == []
    assert datetime.fromisoformat(ahead["completion"]["completedAt"]) == frozen_now.now
    backfill = await complete(api, world, task, completedAt=(created - timedelta(days=364)).isoformat())
    assert backfill["userErrors"] == [] and backfill["task"]["dueDate"] == ahead["task"]["dueDate"]


# Rows written before due dates and intervals were bounded: their next date is past 9999-12-31.
@pytest.mark.parametrize(
    ("frequency", "interval", "due"),
    [
        pytest.param("ANNUAL", None, D(9999, 12, 31), id="annual-at-date-max"),
        pytest.param("MONTHLY", None, D(9999, 12, 15), id="monthly-in-the-last-month"),
        pytest.param("CUSTOM", 2147483647, TODAY, id="custom-int-max"),
    ],
)
async def test_completing_past_the_calendar_is_a_user_error(api, world, frequency, interval, due) -> None:
    task = await make_task(world, frequency=frequency, interval_days=interval, due_date=due, in_progress=True)
    payload = await complete(api, world, task)
    assert payload["userErrors"] == [{"field": ["taskId"], "code": "INVALID_SCHEDULE"}]
    assert payload["completion"] is None
    assert await models.TaskCompletion.all().count() == 0
    row = await models.Task.get(id=task.id)
    assert (row.due_date, row.in_progress, row.last_completed_at) == (due, True, None)


@pytest.mark.parametrize(
    ("fields", "state", "code", "field"),
    [
        ({"completedAt": (FROZEN_NOW + timedelta(hours=25)).isoformat()}, {}, "DATE_IN_FUTURE",
         "completedAt"),
        ({"costCents": -1}, {}, "INVALID_INPUT", "costCents"),
        ({"completedAt": "0001-01-01T00:00:00Z"}, {}, "INVALID_INPUT", "completedAt"),
        ({"completedAt": "1899-12-31T23:59:59+00:00"}, {}, "INVALID_INPUT", "completedAt"),
        ({}, {"cancelled": True}, "INVALID_INPUT", "taskId"),
        ({"photoIds": ["junk"]}, {}, "MEDIA_NOT_ALLOWED", "photoIds"),
    ],
)
async def test_complete_user_errors(api, world, fields, state, code, field) -> None:
    # West of UTC, so an instant in year 1 cannot even be turned into a local date.
    await models.Residence.filter(id=world.residence.id).update(timezone="America/New_York")
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY, **state)
    payload = await complete(api, world, task, **fields)
    assert payload["userErrors"][0]["code"] == code and payload["userErrors"][0]["field"][0] == field
    assert await models.TaskCompletion.all().count() == 0
    assert (await models.Task.get(id=task.id)).due_date == TODAY


async def test_complete_attaches_ready_photos(api, world) -> None:
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY)
    photo = await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    payload = await complete(api, world, task, photoIds=[str(photo.id), str(photo.id)])
    assert payload["completion"]["photos"] == [{"id": str(photo.id)}]
    again = await complete(api, world, task, photoIds=[str(photo.id)])
    assert again["userErrors"] == [{"field": ["photoIds", "0"], "code": "MEDIA_IN_USE"}]


@pytest.mark.parametrize(
    ("case", "code"),
    [("pending", "MEDIA_NOT_READY"), ("rejected", "MEDIA_NOT_READY"), ("other-task", "MEDIA_NOT_ALLOWED"),
     ("other-owner", "MEDIA_NOT_ALLOWED"), ("avatar", "MEDIA_NOT_ALLOWED")],
)
async def test_complete_refuses_unusable_photos(api, world, case, code) -> None:
    task = await make_task(world, frequency="WEEKLY", due_date=TODAY)
    other = await make_task(world)
    owner = world.owner if case == "other-owner" else world.editor
    status = {"pending": MediaStatus.PENDING, "rejected": MediaStatus.REJECTED}.get(case, MediaStatus.READY)
    purpose = MediaPurpose.AVATAR if case == "avatar" else MediaPurpose.COMPLETION_PHOTO
    target = other.id if case == "other-task" else task.id
    photo = await ready_media(owner, purpose, target, world.residence.id, status)
    payload = await complete(api, world, task, photoIds=[str(photo.id)])
    assert payload == {"completion": None, "task": None, "userErrors": [{"field": ["photoIds", "0"], "code": code}]}
    assert await models.TaskCompletion.all().count() == 0
    assert (await models.Media.get(id=photo.id)).completion_id is None  # type: ignore[attr-defined]


async def test_task_completions_page_newest_first(api, world) -> None:
    task = await make_task(world, frequency="DAILY", due_date=TODAY)
    for day in (1, 3, 2):
        await models.TaskCompletion.create(task=task, completed_at=datetime(2025, 1, day, tzinfo=UTC), notes=str(day))
    result = (await api.execute(TASK, {"id": str(task.id)}, token=world.viewer.token))["data"]["task"]
    assert result["residence"] == {"id": world.rid}
    assert result["completions"]["totalCount"] == 3 and result["completions"]["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["notes"] for e in result["completions"]["edges"]] == ["3", "2"]


async def test_residence_tasks_filter(api, world) -> None:
    await make_task(world, title="overdue", frequency="WEEKLY", due_date=TODAY - timedelta(days=1), category="HVAC")
    await make_task(world, title="soon", due_date=TODAY + timedelta(days=30), assignee=world.viewer.user)
    await make_task(world, title="later", due_date=TODAY + timedelta(days=31))
    await make_task(world, title="undated")
    await make_task(world, title="doing", due_date=TODAY - timedelta(days=9), in_progress=True)
    await make_task(world, title="done", completed=True)
    await make_task(world, title="dropped", cancelled=True, due_date=TODAY)
    await make_task(world, title="archived", archived=True, due_date=TODAY - timedelta(days=20))

    async def titles(filter: dict | None) -> list[tuple[str, str]]:
        result = await api.execute(LIST, {"id": world.rid, "filter": filter}, token=world.viewer.token)
        edges = result["data"]["residence"]["tasks"]["edges"]
        return [(e["node"]["title"], e["node"]["column"]) for e in edges]

    assert [t for t, _ in await titles(None)] == ["doing", "overdue", "dropped", "soon", "later", "undated", "done"]
    assert await titles({"columns": ["OVERDUE", "DUE_SOON"]}) == [("overdue", "OVERDUE"), ("soon", "DUE_SOON")]
    assert await titles({"columns": ["UPCOMING"]}) == [("later", "UPCOMING"), ("undated", "UPCOMING")]
    assert await titles({"columns": ["IN_PROGRESS", "COMPLETED", "CANCELLED"]}) == [
        ("doing", "IN_PROGRESS"), ("dropped", "CANCELLED"), ("done", "COMPLETED")]
    assert await titles({"columns": []}) == []
    assert await titles({"categories": ["HVAC"]}) == [("overdue", "OVERDUE")]
    assert await titles({"assigneeId": world.viewer.id}) == [("soon", "DUE_SOON")]
    # A malformed assignee ID selects nothing, exactly as an unknown one (it was NOT_FOUND).
    for unknown in ("junk", "00000000-0000-0000-0000-000000000000"):
        assert await titles({"assigneeId": unknown}) == []
    assert ("archived", "OVERDUE") in await titles({"includeArchived": True, "columns": ["OVERDUE"]})


async def test_upcoming_tasks_across_residences(api, world) -> None:
    other = await make_world(timezone="Pacific/Kiritimati")  # UTC+14: its today may be the caller's tomorrow
    await models.Membership.create(residence=other.residence, user=world.viewer.user, role="VIEWER")
    stranger = await make_world()
    await make_task(world, title="old", frequency="WEEKLY", due_date=TODAY - timedelta(days=40))
    await make_task(other, title="today", frequency="WEEKLY", due_date=TODAY)
    await make_task(world, title="in 30", due_date=TODAY + timedelta(days=30))
    await make_task(world, title="in 45", due_date=TODAY + timedelta(days=45))
    for flags in ({"archived": True}, {"cancelled": True}, {"completed": True}):
        await make_task(world, title="hidden", due_date=TODAY, **flags)
    await make_task(stranger, title="not mine", due_date=TODAY)
    result = (await api.execute(UPCOMING, {}, token=world.viewer.token))["data"]["upcomingTasks"]
    assert [e["node"]["title"] for e in result["edges"]] == ["old", "today", "in 30"]
    week = (await api.execute(UPCOMING, {"days": 7}, token=world.viewer.token))["data"]["upcomingTasks"]
    assert week["totalCount"] == 2
    lonely = await make_actor("lonely")
    assert (await api.execute(UPCOMING, {}, token=lonely.token))["data"]["upcomingTasks"]["totalCount"] == 0
