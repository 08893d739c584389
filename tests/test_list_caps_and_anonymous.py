"""Every list argument is capped (issue 11 item 2), and anonymous calls are UNAUTHENTICATED (item 9).

A list over its cap is one INVALID_INPUT answer (a userErrors entry on the list's field; a top-level error
for a query argument), refused before any lookup: 10,000 unknown IDs used to cost seconds of quadratic work.
Under the cap, the IDs are checked with one query whatever their number.
"""

from __future__ import annotations

import uuid

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)

from honeydue import models
from resolvers.validation import LONGEST_LIST
from schema import schema
from schema.view import cut_long_lists
from tests.plugins.domain import World, make_world
from tests.test_n_plus_one import count_statements

COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) { completion { id }
  userErrors { field code } } }"""
CREATE_DOC = """mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id }
  userErrors { field code } } }"""
UPDATE_DOC = """mutation($i: UpdateDocumentInput!) { updateDocument(input: $i) { document { id }
  userErrors { field code } } }"""
MARK = """mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) { ok marked
  userErrors { field code } } }"""
CREATE_TASK = """mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id }
  userErrors { field code } } }"""
CREATE_TASKS = """mutation($i: CreateTasksInput!) { createTasks(input: $i) { tasks { id }
  userErrors { field code } } }"""
PREFERENCES = """mutation($i: UpdateNotificationPreferencesInput!) { updateNotificationPreferences(input: $i) {
  preferences { type } userErrors { field code } } }"""
CREATE_CONTRACTOR = """mutation($i: CreateContractorInput!) { createContractor(input: $i) { contractor { id }
  userErrors { field code } } }"""
UPDATE_CONTRACTOR = """mutation($i: UpdateContractorInput!) { updateContractor(input: $i) { contractor { id }
  userErrors { field code } } }"""
TASKS = """query($id: ID!, $filter: TaskFilter) { residence(id: $id) { tasks(filter: $filter) { totalCount } } }"""

# Every list argument of the schema, with its cap. A new list argument fails
# test_every_list_argument_is_capped_and_covered until it is capped, documented and added here.
CAPS = {
    "CompleteTaskInput.photoIds": 20,
    "CreateDocumentInput.fileIds": 20,
    "UpdateDocumentInput.fileIds": 20,
    "MarkNotificationsReadInput.ids": 100,
    "CreateTasksInput.tasks": 50,
    "RotationInput.memberIds": 100,
    "UpdateNotificationPreferencesInput.preferences": 100,
    "TaskFilter.columns": 100,
    "TaskFilter.categories": 100,
    "CreateContractorInput.specialties": 20,
    "UpdateContractorInput.specialties": 20,
}


def unknown_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def mutation_case(world: World, name: str, count: int) -> tuple[str, dict, str, list[str]]:
    """(query, variables, payload key, field) sending ``count`` entries to the list ``name``."""
    if name == "CompleteTaskInput.photoIds":
        task = await models.Task.create(residence=world.residence, title="t")
        return COMPLETE, {"taskId": str(task.id), "photoIds": unknown_ids(count)}, "completeTask", ["photoIds"]
    if name == "CreateDocumentInput.fileIds":
        return (CREATE_DOC, {"residenceId": world.rid, "title": "d", "fileIds": unknown_ids(count)},
                "createDocument", ["fileIds"])
    if name == "UpdateDocumentInput.fileIds":
        document = await models.Document.create(residence=world.residence, title="d")
        return (UPDATE_DOC, {"documentId": str(document.id), "fileIds": unknown_ids(count)}, "updateDocument",
                ["fileIds"])
    if name == "CreateContractorInput.specialties":  # free text: any distinct strings will do
        return (CREATE_CONTRACTOR, {"residenceId": world.rid, "name": "c", "specialties": unknown_ids(count)},
                "createContractor", ["specialties"])
    if name == "UpdateContractorInput.specialties":
        contractor = await models.Contractor.create(residence=world.residence, name="c")
        return (UPDATE_CONTRACTOR, {"contractorId": str(contractor.id), "specialties": unknown_ids(count)},
                "updateContractor", ["specialties"])
    if name == "MarkNotificationsReadInput.ids":
        return MARK, {"ids": unknown_ids(count)}, "markNotificationsRead", ["ids"]
    if name == "CreateTasksInput.tasks":
        tasks = [{"title": "t", "assigneeId": assignee} for assignee in unknown_ids(count)]
        return CREATE_TASKS, {"residenceId": world.rid, "tasks": tasks}, "createTasks", ["tasks"]
    if name == "RotationInput.memberIds":
        return (CREATE_TASK, {"residenceId": world.rid, "title": "t",
                              "rotation": {"mode": "ROUND_ROBIN", "memberIds": unknown_ids(count)}},
                "createTask", ["rotation", "memberIds"])
    assert name == "UpdateNotificationPreferencesInput.preferences"
    prefs = [{"type": "TASK_DUE_SOON", "enabled": True}] * count
    return PREFERENCES, {"preferences": prefs}, "updateNotificationPreferences", ["preferences"]


MUTATION_LISTS = [name for name in CAPS if not name.startswith("TaskFilter.")]


@pytest.mark.parametrize("name", MUTATION_LISTS)
async def test_a_list_over_its_cap_is_one_user_error(api, world, name) -> None:
    for count in (CAPS[name] + 1, 10_000):
        query, variables, key, field = await mutation_case(world, name, count)
        documents = await models.Document.all().count()
        result = await api.execute(query, {"i": variables}, token=world.editor.token)
        assert "errors" not in result, result
        assert result["data"][key]["userErrors"] == [{"field": field, "code": "INVALID_INPUT"}]
        assert await models.Document.all().count() == documents  # nothing written
        assert await models.Contractor.filter(specialties__not=[]).count() == 0
    assert await models.TaskCompletion.all().count() == await models.NotificationPreference.all().count() == 0
    assert not await models.Task.filter(residence_id=world.rid, created_by_id__isnull=False).exists()


@pytest.mark.parametrize("name", MUTATION_LISTS)
async def test_a_list_at_its_cap_is_accepted_for_checking(api, world, name) -> None:
    query, variables, key, field = await mutation_case(world, name, CAPS[name])
    result = await api.execute(query, {"i": variables}, token=world.editor.token)
    errors = result["data"][key]["userErrors"]
    assert {"field": field, "code": "INVALID_INPUT"} not in errors
    if field[0] in ("photoIds", "fileIds"):  # each unknown file is named at its index
        assert errors == [{"field": [*field, str(i)], "code": "MEDIA_NOT_ALLOWED"} for i in range(CAPS[name])]
    if field[0] == "rotation":  # each member who is not one is named at its index
        assert errors == [{"field": [*field, str(i)], "code": "INVALID_INPUT"} for i in range(CAPS[name])]
    if field[0] == "tasks":  # each item's unknown assignee is named at its index
        assert errors == [{"field": ["tasks", str(i), "assigneeId"], "code": "INVALID_INPUT"}
                          for i in range(CAPS[name])]


@pytest.mark.parametrize("name", ["TaskFilter.columns", "TaskFilter.categories"])
async def test_a_query_list_over_its_cap_is_a_top_level_invalid_input(api, world, name) -> None:
    field = name.split(".")[1]
    value = {"columns": ["OVERDUE"], "categories": ["HVAC"]}[field]
    at_cap = await api.execute(TASKS, {"id": world.rid, "filter": {field: value * CAPS[name]}},
                               token=world.viewer.token)
    assert "errors" not in at_cap, at_cap
    over = await api.execute(TASKS, {"id": world.rid, "filter": {field: value * (CAPS[name] + 1)}},
                             token=world.viewer.token)
    assert over["data"] is None
    assert over["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert f"at most {CAPS[name]}" in over["errors"][0]["message"]


@pytest.mark.parametrize("name", ["CompleteTaskInput.photoIds", "CreateDocumentInput.fileIds",
                                  "MarkNotificationsReadInput.ids", "RotationInput.memberIds"])
async def test_listed_ids_are_checked_with_one_query(api, world, name) -> None:
    """The statements a request runs do not grow with the number of IDs it lists."""
    counts = []
    for count in (1, CAPS[name]):
        query, variables, key, _ = await mutation_case(world, name, count)
        with count_statements() as counter:
            await api.execute(query, {"i": variables}, token=world.editor.token)
        counts.append(len(counter.statements))
    assert counts[0] == counts[1], counts


def _named(kind: object) -> object:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _is_list(kind: object) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def test_every_list_argument_is_capped_and_covered() -> None:
    """Every list an input or argument takes is in CAPS, and its description states the cap."""
    found: dict[str, str] = {}
    for type_name, kind in schema._schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(kind, GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if _is_list(field.type):
                    found[f"{type_name}.{field_name}"] = field.description or ""
        elif isinstance(kind, GraphQLObjectType):
            for field_name, field in kind.fields.items():
                for arg_name, arg in field.args.items():
                    if _is_list(arg.type):
                        found[f"{type_name}.{field_name}({arg_name})"] = arg.description or ""
    assert set(found) == set(CAPS)
    for name, description in found.items():
        assert f"at most {CAPS[name]}" in description.lower(), (name, description)
    # The view cuts variables' lists to LONGEST_LIST + 1 before coercion: that is only sound while no cap
    # is longer, so a list over its cap still arrives over its cap.
    assert max(CAPS.values()) <= LONGEST_LIST


def test_variables_lists_are_cut_one_past_the_longest_cap_at_any_depth() -> None:
    variables = {"i": {"ids": list(range(10_000)), "nested": [{"ids": list(range(500))}, *range(400)]}}
    cut_long_lists(variables, LONGEST_LIST + 1)
    assert variables["i"]["ids"] == list(range(LONGEST_LIST + 1))
    assert len(variables["i"]["nested"]) == LONGEST_LIST + 1
    assert variables["i"]["nested"][0]["ids"] == list(range(LONGEST_LIST + 1))


# --- anonymous callers --------------------------------------------------------------------------------

# The credentials, or an emailed link's token, authorise these.
PUBLIC_MUTATIONS = {"register", "login", "requestPasswordReset", "resetPassword", "verifyEmail", "confirmEmailChange"}


def _literal(kind: object) -> str:
    """A GraphQL literal of type ``kind``: required input fields and every ID field, each ID malformed."""
    if isinstance(kind, GraphQLNonNull):
        return _literal(kind.of_type)
    if isinstance(kind, GraphQLList):
        return f"[{_literal(kind.of_type)}]"
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        sent = [f"{name}: {_literal(field.type)}" for name, field in kind.fields.items()
                if isinstance(field.type, GraphQLNonNull) or getattr(_named(field.type), "name", "") == "ID"]
        return "{" + ", ".join(sent) + "}"
    assert isinstance(kind, GraphQLScalarType)
    return {"ID": '"not-a-uuid"', "String": '"x"', "Int": "1", "Boolean": "false", "Float": "1.0"}[kind.name]


def _call(field_name: str, field: object) -> str:
    args = [f"{name}: {_literal(arg.type)}" for name, arg in field.args.items()  # type: ignore[attr-defined]
            if isinstance(arg.type, GraphQLNonNull) or name == "id"]
    selection = " { __typename }" if isinstance(_named(field.type), GraphQLObjectType) else ""  # type: ignore[attr-defined]
    return f"{field_name}{'(' + ', '.join(args) + ')' if args else ''}{selection}"


def _operations() -> list[tuple[str, str]]:
    operations = []
    for name, field in schema._schema.query_type.fields.items():
        operations.append((name, "{ " + _call(name, field) + " }"))
    for name, field in schema._schema.mutation_type.fields.items():
        if name not in PUBLIC_MUTATIONS:
            operations.append((name, "mutation { " + _call(name, field) + " }"))
    return operations


@pytest.mark.parametrize(("name", "operation"), _operations(), ids=[name for name, _ in _operations()])
async def test_anonymous_callers_are_unauthenticated_whatever_the_ids(api, settings, name, operation) -> None:
    result = await api.execute(operation)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (operation, result)
    # A nullable root field (vapidPublicKey) answers {"field": null}; a non-null one nulls the whole data.
    assert result["data"] is None or result["data"] == {name: None}
