"""Scheduling people can trust, over GraphQL: rotation, skipTaskOccurrence, snoozeTask, missed cycles.

The rules are tabled in tests/test_schedule.py and tests/test_rotation.py; these tests check what a member
sees through the API, on the suite's database (PostgreSQL, or SQLite with ``-m db``).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from honeydue import models
from honeydue.passwords import hash_password
from tests.conftest import FROZEN_NOW, FrozenClock
from tests.plugins.domain import World, make_actor, make_world

# "Today" is the same for the code and the test (the clock seam, honeydue/clock.py).
pytestmark = pytest.mark.usefixtures("frozen_now")
TODAY = FROZEN_NOW.date()
DAY = timedelta(days=1)
TASK_FIELDS = """id dueDate column lastCompletedAt snoozedUntil missedOccurrences assignee { id }
  rotation { mode members { id } }"""
CREATE = f"""mutation($i: CreateTaskInput!) {{ createTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
CREATE_TASKS = f"""mutation($i: CreateTasksInput!) {{ createTasks(input: $i) {{ tasks {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
UPDATE = f"""mutation($i: UpdateTaskInput!) {{ updateTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
COMPLETE = f"""mutation($i: CompleteTaskInput!) {{ completeTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
SKIP = f"""mutation($i: SkipTaskOccurrenceInput!) {{ skipTaskOccurrence(input: $i) {{
  skip {{ id skipped completedAt notes costCents completedBy {{ id }} task {{ id }} }}
  task {{ {TASK_FIELDS} }} userErrors {{ field code }} }} }}"""
SNOOZE = f"""mutation($i: SnoozeTaskInput!) {{ snoozeTask(input: $i) {{ task {{ {TASK_FIELDS} }}
  userErrors {{ field code }} }} }}"""
HISTORY = """query($id: ID!) { task(id: $id) { completions { totalCount edges { node { skipped
  completedBy { id } } } } } }"""
REMOVE = """mutation($i: RemoveMemberInput!) { removeMember(input: $i) { userErrors { field code } } }"""
DELETE_ACCOUNT = """mutation($i: DeleteAccountInput!) { deleteAccount(input: $i) { ok userErrors { code } } }"""
LISTS = """query($id: ID!) { residence(id: $id) { tasks(filter: {columns: [OVERDUE]}) { totalCount
  edges { node { id dueDate missedOccurrences } } } } upcomingTasks(days: 0) { totalCount edges { node { id } } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def run(api, query: str, variables: dict, token: str, key: str) -> dict:
    result = await api.execute(query, {"i": variables}, token=token)
    assert "errors" not in result, result
    return result["data"][key]


async def create(api, world: World, **fields: object) -> dict:
    payload = await run(api, CREATE, {"residenceId": world.rid, "title": "Bins", "frequency": "WEEKLY", **fields},
                        world.editor.token, "createTask")
    assert payload["userErrors"] == [], payload
    return payload["task"]


async def complete(api, world: World, task_id: str, token: str | None = None, **fields: object) -> dict:
    payload = await run(api, COMPLETE, {"taskId": task_id, **fields}, token or world.editor.token, "completeTask")
    assert payload["userErrors"] == [], payload
    return payload["task"]


def ids(*actors: object) -> list[str]:
    return [actor.id for actor in actors]  # type: ignore[attr-defined]


# Rotation ----------------------------------------------------------------------------------------------


async def test_round_robin_passes_the_task_on_in_order(api, world) -> None:
    order = [world.viewer, world.editor, world.owner]
    task = await create(api, world, rotation={"mode": "ROUND_ROBIN", "memberIds": ids(*order)})
    assert task["rotation"] == {"mode": "ROUND_ROBIN", "members": [{"id": a.id} for a in order]}
    assert task["assignee"] == {"id": world.viewer.id}  # nobody was assigned: the first member's turn
    turns = []
    for _ in range(4):
        task = await complete(api, world, task["id"])
        turns.append(task["assignee"]["id"])
    assert turns == ids(world.editor, world.owner, world.viewer, world.editor)


async def test_fewest_completions_goes_to_who_did_it_least_ties_by_order(api, world) -> None:
    task = await create(api, world, assigneeId=world.owner.id,
                        rotation={"mode": "FEWEST_COMPLETIONS", "memberIds": ids(world.owner, world.editor)})
    assert task["assignee"] == {"id": world.owner.id}  # the given assignee is a member: their turn
    # The owner does it twice; each time the editor (0 done) is next, then the owner is again (tie, first).
    task = await complete(api, world, task["id"], token=world.owner.token)
    assert task["assignee"] == {"id": world.editor.id}
    task = await complete(api, world, task["id"], token=world.owner.token)
    assert task["assignee"] == {"id": world.editor.id}
    task = await complete(api, world, task["id"])
    assert task["assignee"] == {"id": world.editor.id}  # owner 2, editor 1
    task = await complete(api, world, task["id"])
    assert task["assignee"] == {"id": world.owner.id}  # 2 and 2: the owner is first in the order


async def test_create_tasks_items_take_a_rotation_too(api, world) -> None:
    payload = await run(api, CREATE_TASKS, {"residenceId": world.rid, "tasks": [
        {"title": "Bins", "frequency": "WEEKLY", "rotation": {"mode": "ROUND_ROBIN",
                                                              "memberIds": ids(world.editor, world.owner)}},
        {"title": "Gutters", "rotation": {"mode": "ROUND_ROBIN", "memberIds": [world.outsider.id]}},
    ]}, world.editor.token, "createTasks")
    assert payload["userErrors"] == [{"field": ["tasks", "1", "rotation", "memberIds", "0"], "code": "INVALID_INPUT"}]
    assert await models.Task.filter(residence_id=world.rid).count() == 0  # all or nothing
    payload = await run(api, CREATE_TASKS, {"residenceId": world.rid, "tasks": [
        {"title": "Bins", "frequency": "WEEKLY", "rotation": {"mode": "ROUND_ROBIN",
                                                              "memberIds": ids(world.editor, world.owner)}},
        {"title": "Gutters"},
    ]}, world.editor.token, "createTasks")
    assert payload["userErrors"] == []
    bins, gutters = payload["tasks"]
    assert bins["rotation"]["mode"] == "ROUND_ROBIN" and bins["assignee"] == {"id": world.editor.id}
    assert gutters["rotation"] == {"mode": "FIXED", "members": []}


@pytest.mark.parametrize(
    ("rotation", "extra", "field"),
    [
        ({"mode": "FIXED", "memberIds": ["x"]}, {}, ["rotation", "memberIds"]),
        ({"mode": "ROUND_ROBIN", "memberIds": []}, {}, ["rotation", "memberIds"]),
        ({"mode": "FEWEST_COMPLETIONS"}, {}, ["rotation", "memberIds"]),
        ({"mode": "ROUND_ROBIN", "memberIds": ["owner", "outsider"]}, {}, ["rotation", "memberIds", "1"]),
        ({"mode": "ROUND_ROBIN", "memberIds": ["owner", "not-an-id"]}, {}, ["rotation", "memberIds", "1"]),
        ({"mode": "ROUND_ROBIN", "memberIds": ["owner"]}, {"assigneeId": "editor"}, ["assigneeId"]),
    ],
)
async def test_rotation_user_errors(api, world, rotation, extra, field) -> None:
    def resolve(value: str) -> str:
        return world.actor(value).id if value in ("owner", "editor", "viewer", "outsider") else value

    rotation = {**rotation, "memberIds": [resolve(v) for v in rotation.get("memberIds", [])]}
    payload = await run(api, CREATE, {"residenceId": world.rid, "title": "Bins", "rotation": rotation,
                                      **{k: resolve(v) for k, v in extra.items()}}, world.editor.token, "createTask")
    assert payload == {"task": None, "userErrors": [{"field": field, "code": "INVALID_INPUT"}]}
    assert not await models.Task.exists()


async def test_update_task_sets_and_clears_the_rotation(api, world) -> None:
    task = await create(api, world, assigneeId=world.owner.id)
    assert task["rotation"] == {"mode": "FIXED", "members": []}
    payload = await run(api, UPDATE, {"taskId": task["id"], "rotation": {
        "mode": "ROUND_ROBIN", "memberIds": ids(world.editor, world.viewer, world.editor)}}, world.editor.token,
        "updateTask")
    assert payload["userErrors"] == []
    # The owner is not in it: the first member's turn; the repeated editor is dropped.
    assert payload["task"]["rotation"]["members"] == [{"id": world.editor.id}, {"id": world.viewer.id}]
    assert payload["task"]["assignee"] == {"id": world.editor.id}
    outsider_turn = await run(api, UPDATE, {"taskId": task["id"], "assigneeId": world.owner.id}, world.editor.token,
                              "updateTask")
    assert outsider_turn["userErrors"] == [{"field": ["assigneeId"], "code": "INVALID_INPUT"}]
    their_turn = await run(api, UPDATE, {"taskId": task["id"], "assigneeId": world.viewer.id}, world.editor.token,
                           "updateTask")
    assert their_turn["task"]["assignee"] == {"id": world.viewer.id}
    assert (await complete(api, world, task["id"]))["assignee"] == {"id": world.editor.id}
    cleared = await run(api, UPDATE, {"taskId": task["id"], "rotation": None}, world.editor.token, "updateTask")
    assert cleared["task"]["rotation"] == {"mode": "FIXED", "members": []}
    assert cleared["task"]["assignee"] == {"id": world.editor.id}  # FIXED keeps whoever had it
    assert (await complete(api, world, task["id"]))["assignee"] == {"id": world.editor.id}
    assert await models.TaskRotationMember.all().count() == 0


async def test_a_member_who_leaves_drops_out_and_their_turn_moves_on(api, world) -> None:
    order = [world.owner, world.editor, world.viewer]
    task = await create(api, world, assigneeId=world.editor.id,
                        rotation={"mode": "ROUND_ROBIN", "memberIds": ids(*order)})
    other = await create(api, world, rotation={"mode": "ROUND_ROBIN", "memberIds": ids(world.viewer)})
    removed = await run(api, REMOVE, {"residenceId": world.rid, "userId": world.editor.id}, world.owner.token,
                        "removeMember")
    assert removed["userErrors"] == []
    after = await complete(api, world, task["id"], token=world.owner.token)
    # Removed on their turn: it went to the viewer (next after them); the completion then wraps to the owner.
    assert after["rotation"]["members"] == [{"id": world.owner.id}, {"id": world.viewer.id}]
    assert after["assignee"] == {"id": world.owner.id}
    left = await run(api, REMOVE, {"residenceId": world.rid, "userId": world.viewer.id}, world.viewer.token,
                     "removeMember")
    assert left["userErrors"] == []
    row = await models.Task.get(id=other["id"])  # the viewer was its only member: FIXED, nobody's
    assert (row.rotation_mode, row.assignee_id) == (models.RotationMode.FIXED, None)
    assert await models.TaskRotationMember.filter(task_id=task["id"]).values_list("user_id", flat=True) == \
        [world.owner.user.id]


async def test_a_deleted_account_drops_out_of_rotations(api, world) -> None:
    task = await create(api, world, rotation={"mode": "ROUND_ROBIN", "memberIds": ids(world.viewer, world.editor)})
    assert task["assignee"] == {"id": world.viewer.id}
    await models.User.filter(id=world.viewer.user.id).update(password_hash=hash_password("a long passphrase"))
    deleted = await run(api, DELETE_ACCOUNT, {"password": "a long passphrase"}, world.viewer.token, "deleteAccount")
    assert deleted == {"ok": True, "userErrors": []}
    row = await models.Task.get(id=task["id"])
    assert row.assignee_id == world.editor.user.id
    assert await models.TaskRotationMember.filter(task_id=row.id).count() == 1


# Skip --------------------------------------------------------------------------------------------------


async def test_skip_moves_the_schedule_and_records_the_skip(api, world, frozen_now: FrozenClock) -> None:
    task = await create(api, world, dueDate=(TODAY + 2 * DAY).isoformat(),
                        rotation={"mode": "ROUND_ROBIN", "memberIds": ids(world.editor, world.owner)})
    done = await complete(api, world, task["id"])
    frozen_now.now += timedelta(minutes=1)  # the skip comes after the completion, as the history shows
    assert done["dueDate"] == (TODAY + 9 * DAY).isoformat() and done["assignee"] == {"id": world.owner.id}
    payload = await run(api, SKIP, {"taskId": task["id"]}, world.editor.token, "skipTaskOccurrence")
    assert payload["userErrors"] == []
    skip, skipped = payload["skip"], payload["task"]
    assert (skip["skipped"], skip["notes"], skip["costCents"], skip["completedBy"], skip["task"]) == \
        (True, "", None, {"id": world.editor.id}, {"id": task["id"]})
    assert skipped["dueDate"] == (TODAY + 16 * DAY).isoformat()  # the next slot after the one skipped
    assert skipped["lastCompletedAt"] == done["lastCompletedAt"]  # not a completion
    assert skipped["assignee"] == {"id": world.owner.id}  # still their turn
    history = (await api.execute(HISTORY, {"id": task["id"]}, token=world.viewer.token))["data"]["task"]
    assert history["completions"]["totalCount"] == 2
    assert [e["node"]["skipped"] for e in history["completions"]["edges"]] == [True, False]  # newest first


async def test_skipping_an_overdue_task_skips_every_missed_cycle(api, world) -> None:
    task = await create(api, world, dueDate=(TODAY - 20 * DAY).isoformat())
    assert task["column"] == "OVERDUE" and task["missedOccurrences"] == 3
    payload = await run(api, SKIP, {"taskId": task["id"]}, world.editor.token, "skipTaskOccurrence")
    assert payload["task"]["dueDate"] == (TODAY + DAY).isoformat()  # slots: -20, -13, -6, +1
    assert payload["task"]["column"] == "DUE_SOON" and payload["task"]["missedOccurrences"] == 0


async def test_a_retried_skip_skips_once(api, world) -> None:
    task = await create(api, world, dueDate=(TODAY + DAY).isoformat())
    first = await run(api, SKIP, {"taskId": task["id"], "idempotencyKey": "skip-1"}, world.editor.token,
                      "skipTaskOccurrence")
    again = await run(api, SKIP, {"taskId": task["id"], "idempotencyKey": "skip-1"}, world.editor.token,
                      "skipTaskOccurrence")
    assert first["task"]["dueDate"] == again["task"]["dueDate"] == (TODAY + 8 * DAY).isoformat()
    assert again["skip"]["id"] == first["skip"]["id"]
    assert await models.TaskCompletion.filter(task_id=task["id"]).count() == 1
    other = await run(api, SKIP, {"taskId": task["id"], "idempotencyKey": "skip-2"}, world.editor.token,
                      "skipTaskOccurrence")
    assert other["task"]["dueDate"] == (TODAY + 15 * DAY).isoformat()


@pytest.mark.parametrize(("fields", "state"), [({"frequency": "ONCE"}, {}), ({}, {"cancelled": True})],
                         ids=["once", "cancelled"])
async def test_what_cannot_be_skipped(api, world, fields, state) -> None:
    task = await create(api, world, **fields)
    await models.Task.filter(id=task["id"]).update(**state)
    payload = await run(api, SKIP, {"taskId": task["id"]}, world.editor.token, "skipTaskOccurrence")
    assert payload == {"skip": None, "task": None, "userErrors": [{"field": ["taskId"], "code": "INVALID_INPUT"}]}
    assert await models.TaskCompletion.all().count() == 0


# Snooze ------------------------------------------------------------------------------------------------


async def test_snooze_holds_reminders_not_the_schedule(api, world) -> None:
    task = await create(api, world, dueDate=(TODAY - 3 * DAY).isoformat())
    until = TODAY + 5 * DAY
    payload = await run(api, SNOOZE, {"taskId": task["id"], "until": until.isoformat()}, world.editor.token,
                        "snoozeTask")
    assert payload["userErrors"] == []
    assert payload["task"]["snoozedUntil"] == until.isoformat()
    assert (payload["task"]["dueDate"], payload["task"]["column"]) == (task["dueDate"], "OVERDUE")
    ended = await run(api, SNOOZE, {"taskId": task["id"], "until": None}, world.editor.token, "snoozeTask")
    assert ended["task"]["snoozedUntil"] is None
    await run(api, SNOOZE, {"taskId": task["id"], "until": until.isoformat()}, world.editor.token, "snoozeTask")
    assert (await complete(api, world, task["id"]))["snoozedUntil"] is None  # it was for that occurrence


@pytest.mark.parametrize("offset", [0, -1, 366], ids=["today", "yesterday", "over-a-year"])
async def test_snooze_until_must_be_after_today_and_within_a_year(api, world, offset) -> None:
    task = await create(api, world)
    payload = await run(api, SNOOZE, {"taskId": task["id"], "until": (TODAY + offset * DAY).isoformat()},
                        world.editor.token, "snoozeTask")
    assert payload == {"task": None, "userErrors": [{"field": ["until"], "code": "INVALID_INPUT"}]}
    assert (await models.Task.get(id=task["id"])).snoozed_until is None


async def test_snooze_a_year_ahead_is_accepted(api, world) -> None:
    task = await create(api, world)
    payload = await run(api, SNOOZE, {"taskId": task["id"], "until": (TODAY + 365 * DAY).isoformat()},
                        world.editor.token, "snoozeTask")
    assert payload["userErrors"] == []


# Missed cycles -----------------------------------------------------------------------------------------


async def test_a_task_that_missed_cycles_shows_once_and_completing_it_is_never_past_due(api, world) -> None:
    missed_since = TODAY - 35 * DAY
    task = await create(api, world, dueDate=missed_since.isoformat())
    lists = (await api.execute(LISTS, {"id": world.rid}, token=world.viewer.token))["data"]
    overdue = lists["residence"]["tasks"]
    assert overdue["totalCount"] == 1
    assert overdue["edges"][0]["node"] == {"id": task["id"], "dueDate": missed_since.isoformat(),
                                           "missedOccurrences": 5}
    assert [e["node"]["id"] for e in lists["upcomingTasks"]["edges"]] == [task["id"]]
    done = await complete(api, world, task["id"])
    assert done["dueDate"] == (TODAY + 7 * DAY).isoformat()  # -35 is a slot, so is today: the next one
    assert done["column"] == "DUE_SOON" and done["missedOccurrences"] == 0


async def test_a_back_dated_completion_of_a_missed_task_is_not_past_due(api, world) -> None:
    task = await create(api, world, dueDate=(TODAY - 30 * DAY).isoformat())
    done = await complete(api, world, task["id"], completedAt=(FROZEN_NOW - 12 * DAY).isoformat())
    # Slots at -30, -23, -16, -9, -2, +5: the one after the completion (-9) has passed, so the first from today.
    assert done["dueDate"] == (TODAY + 5 * DAY).isoformat()


async def test_outsiders_and_viewers(api, world) -> None:
    task = await create(api, world)
    viewer = await api.execute(SKIP, {"i": {"taskId": task["id"]}}, token=world.viewer.token)
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    stranger = await make_actor("stranger")
    snooze = await api.execute(SNOOZE, {"i": {"taskId": task["id"], "until": (TODAY + DAY).isoformat()}},
                               token=stranger.token)
    assert snooze["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert isinstance(date.fromisoformat(task["dueDate"]), date)
