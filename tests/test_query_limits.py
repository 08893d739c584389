"""Limits against abusive queries (depth, aliases, tokens -> QUERY_TOO_COMPLEX) and connection page bounds."""

from __future__ import annotations

import pytest

from honeydue import models
from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
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
