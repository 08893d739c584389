"""createTasks: 1 to 50 tasks in one transaction, from templates or not; per-item userErrors; Task.template."""

from __future__ import annotations

import pytest

from honeydue import catalogue, models
from schema import schema
from tests.conftest import FROZEN_NOW
from tests.plugins.domain import World, error_code, make_world

CREATE_TASKS = """mutation($i: CreateTasksInput!) { createTasks(input: $i) {
  tasks { id title description category frequency intervalDays dueDate priority assignee { id }
          template { id title } }
  userErrors { field code message } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def create(api, world: World, tasks: list[dict], role: str = "editor") -> dict:
    result = await api.execute(CREATE_TASKS, {"i": {"residenceId": world.rid, "tasks": tasks}},
                               token=world.actor(role).token)
    assert "errors" not in result, result
    return result["data"]["createTasks"]


@pytest.mark.usefixtures("frozen_now")  # "today" is the service's: the same for the code and the test
async def test_a_template_fills_the_task_and_given_fields_override(api, world) -> None:
    septic = catalogue.template("septic-pump")
    assert septic is not None
    payload = await create(api, world, [
        {"templateId": "septic-pump"},
        {"templateId": "hvac-filter-replace", "title": "Furnace filter (20x25)", "priority": "HIGH",
         "frequency": "MONTHLY", "assigneeId": world.editor.id},
        {"title": "Paint the shed", "category": "EXTERIOR"},
    ])
    assert payload["userErrors"] == []
    first, second, third = payload["tasks"]
    assert first["title"] == septic.title and first["description"] == septic.description
    assert (first["category"], first["frequency"], first["intervalDays"]) == ("PLUMBING", "CUSTOM", 1095)
    assert first["template"] == {"id": "septic-pump", "title": septic.title}
    today = FROZEN_NOW.date().isoformat()
    assert first["dueDate"] == today  # recurring, no date given: due today, as createTask does
    assert second["title"] == "Furnace filter (20x25)" and second["frequency"] == "MONTHLY"
    assert second["category"] == "HVAC" and second["priority"] == "HIGH" and second["intervalDays"] is None
    assert second["assignee"] == {"id": world.editor.id} and second["template"]["id"] == "hvac-filter-replace"
    assert third["template"] is None and third["frequency"] == "ONCE" and third["category"] == "EXTERIOR"
    rows = await models.Task.filter(residence_id=world.rid).order_by("created_at")
    assert [r.template_id for r in rows] == ["septic-pump", "hvac-filter-replace", None]
    assert all(r.created_by_id == world.editor.user.id for r in rows)  # type: ignore[attr-defined]


async def test_one_bad_item_creates_nothing_and_every_problem_names_its_index(api, world) -> None:
    payload = await create(api, world, [
        {"templateId": "gutters-clean"},
        {"description": "no title, no template"},
        {"templateId": "no-such-template"},
        {"title": "x", "frequency": "CUSTOM"},
        {"title": "y", "assigneeId": world.outsider.id},
        {"title": "z", "dueDate": "1800-01-01"},
    ])
    assert payload["tasks"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["tasks", "1", "title"], "INVALID_INPUT"),
        (["tasks", "2", "templateId"], "INVALID_INPUT"),
        (["tasks", "3", "intervalDays"], "INVALID_SCHEDULE"),
        (["tasks", "4", "assigneeId"], "INVALID_INPUT"),
        (["tasks", "5", "dueDate"], "INVALID_INPUT"),
    ]
    assert await models.Task.filter(residence_id=world.rid).count() == 0


@pytest.mark.parametrize("count", [0, 51])
async def test_zero_or_more_than_50_tasks_is_one_error_on_tasks(api, world, count: int) -> None:
    payload = await create(api, world, [{"title": f"t{i}"} for i in range(count)])
    assert payload["tasks"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["tasks"], "INVALID_INPUT")]
    assert await models.Task.filter(residence_id=world.rid).count() == 0


async def test_fifty_tasks_are_created_together(api, world) -> None:
    ids = [t.id for t in catalogue.catalogue().templates[:50]]
    payload = await create(api, world, [{"templateId": i} for i in ids])
    assert payload["userErrors"] == [] and [t["template"]["id"] for t in payload["tasks"]] == ids
    assert await models.Task.filter(residence_id=world.rid).count() == 50


async def test_roles_viewers_and_outsiders_are_refused(api, world) -> None:
    variables = {"i": {"residenceId": world.rid, "tasks": [{"title": "t"}]}}
    assert error_code(await api.execute(CREATE_TASKS, variables, token=world.viewer.token)) == "FORBIDDEN"
    assert error_code(await api.execute(CREATE_TASKS, variables, token=world.outsider.token)) == "NOT_FOUND"
    assert error_code(await api.execute(CREATE_TASKS, variables)) == "UNAUTHENTICATED"
    assert await models.Task.filter(residence_id=world.rid).count() == 0


async def test_task_template_is_null_for_a_template_id_the_catalogue_no_longer_has(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="old", template_id="retired-template")
    result = await api.execute("query($id: ID!) { task(id: $id) { template { id } } }", {"id": str(task.id)},
                               token=world.viewer.token)
    assert result["data"]["task"]["template"] is None


def test_an_item_is_create_task_input_without_residence_id_plus_template_id() -> None:
    """CreateTaskItemInput follows CreateTaskInput: a field added to one must be added to the other."""
    types = schema._schema.type_map  # type: ignore[attr-defined]
    single = set(types["CreateTaskInput"].fields) - {"residenceId", "idempotencyKey"}
    assert set(types["CreateTaskItemInput"].fields) == single | {"templateId"}
