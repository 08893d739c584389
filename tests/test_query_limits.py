"""Limits against abusive queries (depth, aliases, fields, tokens -> QUERY_TOO_COMPLEX) and connection page bounds."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, parse

from honeydue import models
from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from schema.limits import Measure, limit_error, measure_document
from tests.plugins.domain import World, error_code, make_world
from tests.test_n_plus_one import PAGE


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


def deep_query(depth: int) -> str:
    """A query at least ``depth`` levels deep: a task's residence's tasks' residence... (four levels a turn)."""
    inner = "id"
    levels = 1
    while levels < depth:
        inner = f"residence {{ tasks {{ edges {{ node {{ {inner} }} }} }} }}"
        levels += 4
    return f"query($id: ID!) {{ task(id: $id) {{ {inner} }} }}"


async def test_too_deep_is_refused(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="t")
    result = await api.execute(deep_query(MAX_DEPTH + 2), {"id": str(task.id)}, token=world.viewer.token)
    assert error_code(result) == "QUERY_TOO_COMPLEX"
    assert result.get("data") is None


async def test_too_many_aliases_is_refused(api, world) -> None:
    aliases = " ".join(f"a{i}: residences {{ totalCount }}" for i in range(MAX_ALIASES + 1))
    result = await api.execute(f"{{ {aliases} }}", token=world.viewer.token)
    assert error_code(result) == "QUERY_TOO_COMPLEX"


async def test_too_many_tokens_is_refused(api, world) -> None:
    fields = " ".join("totalCount" for _ in range(MAX_TOKENS))
    result = await api.execute(f"{{ residences {{ {fields} }} }}", token=world.viewer.token)
    assert error_code(result) == "QUERY_TOO_COMPLEX"


async def test_the_deepest_app_page_is_allowed(api, world) -> None:
    result = await api.execute(PAGE, {"id": world.rid}, token=world.viewer.token)
    assert "errors" not in result, result
    a_few = " ".join(f"a{i}: residences {{ totalCount }}" for i in range(MAX_ALIASES))
    assert "errors" not in await api.execute(f"{{ {a_few} }}", token=world.viewer.token)


async def test_page_size_is_bounded(api, world) -> None:
    await models.Notification.bulk_create(
        [models.Notification(user=world.viewer.user, type="TASK_DUE_SOON", title=f"n{i}") for i in range(101)]
    )
    query = "query($first: Int, $after: String) { notifications(first: $first, after: $after) { totalCount " \
            "pageInfo { hasNextPage } edges { cursor } } }"

    async def page(**variables: object) -> dict:
        return (await api.execute(query, variables, token=world.viewer.token))["data"]["notifications"]

    assert len((await page())["edges"]) == 20  # API.md's default
    biggest = await page(first=1000)
    assert (len(biggest["edges"]), biggest["totalCount"], biggest["pageInfo"]["hasNextPage"]) == (100, 101, True)
    assert (await page(first=-3))["edges"] == []
    assert len((await page(first=5, after="not-a-cursor"))["edges"]) == 5


def fan_out(levels: int, aliased: bool = True) -> str:
    """The issue's document: each fragment spreads the next one twice (2^levels fields from ~50 bytes a level)."""
    a, b = ("a:email", "b:email") if aliased else ("email", "displayName")
    fragments = " ".join(f"fragment F{i} on User{{{a} ...F{i + 1} {b} ...F{i + 1}}}" for i in range(levels))
    return f"query Q{{me{{...F0}}}} {fragments} fragment F{levels} on User{{id}}"


@pytest.mark.timeout(60)  # a hang bound: expanding every spread took 5 s at 20 levels, doubling per level
@pytest.mark.parametrize("levels", [20, 21, 120])
async def test_fragment_fan_out_is_refused_without_expanding_it(api, world, levels: int) -> None:
    result = await api.execute(fan_out(levels), token=world.viewer.token)
    assert error_code(result) == "QUERY_TOO_COMPLEX"
    assert "aliases" in result["errors"][0]["message"]
    # The same shape without aliases selects 2^levels fields: refused by the field count.
    plain = await api.execute(fan_out(levels, aliased=False), token=world.viewer.token)
    assert error_code(plain) == "QUERY_TOO_COMPLEX"
    assert "fields" in plain["errors"][0]["message"]


def test_each_fragment_is_measured_once() -> None:
    # 120 levels: expanding each spread would be 2^120 visits; measured once each it is the document's size.
    refused = limit_error(parse(fan_out(120)))
    assert refused is not None and refused.extensions == {"code": "QUERY_TOO_COMPLEX"}
    small = measure_document(parse(fan_out(3)))
    assert small == {"Q": Measure(depth=1, aliases=14, fields=23)}


def test_depth_and_aliases_count_through_fragments_as_inline() -> None:
    inline = "{ residences { edges { node { tasks { edges { node { a: title b: title } } } } } } }"
    spread = ("{ residences { edges { node { ...R } } } } fragment R on Residence { tasks { ...C } } "
              "fragment C on TaskConnection { edges { node { a: title b: title } } }")
    assert measure_document(parse(inline)) == measure_document(parse(spread)) == {
        "": Measure(depth=6, aliases=2, fields=8)}


async def test_graphiql_introspection_and_fragment_cycles(api, world) -> None:
    introspection = await api.execute(get_introspection_query(descriptions=True), token=world.viewer.token)
    assert "errors" not in introspection and introspection["data"]["__schema"]["queryType"]["name"] == "Query"
    cycle = await api.execute("{ me { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }",
                              token=world.viewer.token)
    assert error_code(cycle) == "GRAPHQL_VALIDATION_FAILED" and "within itself" in cycle["errors"][0]["message"]
