"""Idempotency keys over GraphQL: a retried create acts once, also when the retries arrive together.

The concurrent tests fire real requests at once through the app (``asyncio.gather`` over ASGI): on
PostgreSQL each holds its own pooled connection, so the claims really race on the unique constraint.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from honeydue import models
from honeydue.models import MediaPurpose
from tests.conftest import FROZEN_NOW
from tests.plugins.domain import World, make_actor, make_world, ready_media
from workers import cleanup

# "Today" is the same for the code and the test (the clock seam, honeydue/clock.py).
pytestmark = pytest.mark.usefixtures("frozen_now")
TODAY = FROZEN_NOW.date()

COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) {
  completion { id } task { id dueDate lastCompletedAt completed } userErrors { field code } } }"""
CREATE_TASK = """mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } userErrors { field code } } }"""
CREATE_RESIDENCE = """mutation($i: CreateResidenceInput!) { createResidence(input: $i) {
  residence { id } userErrors { field code } } }"""
CREATE_DOCUMENT = """mutation($i: CreateDocumentInput!) { createDocument(input: $i) {
  document { id files { id } } userErrors { field code } } }"""
REQUEST_UPLOAD = """mutation($i: RequestUploadInput!) { requestUpload(input: $i) {
  media { id status } upload { url } userErrors { field code } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def run(api, query: str, variables: dict, token: str) -> dict:
    result = await api.execute(query, variables, token=token)
    assert "errors" not in result, result
    (payload,) = result["data"].values()
    return payload


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_ten_concurrent_completions_with_one_key_complete_the_task_once(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="Filter", frequency="WEEKLY",
                                    due_date=TODAY, anchor_date=TODAY)
    variables = {"i": {"taskId": str(task.id), "notes": "done", "idempotencyKey": "tap-1"}}
    payloads = await asyncio.gather(*(run(api, COMPLETE, variables, world.editor.token) for _ in range(10)))
    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert {p["completion"]["id"] for p in payloads} == {payloads[0]["completion"]["id"]}
    assert await models.TaskCompletion.filter(task_id=task.id).count() == 1
    assert (await models.Task.get(id=task.id)).due_date == TODAY + timedelta(weeks=1)
    # A later retry (the answer was lost) still gets the first completion and moves nothing.
    again = await run(api, COMPLETE, variables, world.editor.token)
    assert again["completion"] == payloads[0]["completion"] and again["task"]["dueDate"] == \
        (TODAY + timedelta(weeks=1)).isoformat()
    assert await models.TaskCompletion.filter(task_id=task.id).count() == 1


async def test_ten_concurrent_creates_with_one_key_create_one_residence(api, world) -> None:
    variables = {"i": {"name": "Cabin", "idempotencyKey": "create-cabin"}}
    payloads = await asyncio.gather(*(run(api, CREATE_RESIDENCE, variables, world.owner.token) for _ in range(10)))
    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert len({p["residence"]["id"] for p in payloads}) == 1
    assert await models.Residence.filter(name="Cabin").count() == 1
    assert await models.Membership.filter(residence__name="Cabin").count() == 1


async def test_retrying_a_one_off_completion_returns_the_first_instead_of_already_done(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="Fix the gate", due_date=TODAY,
                                    anchor_date=TODAY)
    variables = {"i": {"taskId": str(task.id), "idempotencyKey": "gate"}}
    first = await run(api, COMPLETE, variables, world.editor.token)
    again = await run(api, COMPLETE, variables, world.editor.token)
    assert first["userErrors"] == [] and again == first and again["task"]["completed"] is True
    # Without the key, or with another one, completing a finished one-off is still refused.
    other = await run(api, COMPLETE, {"i": {"taskId": str(task.id), "idempotencyKey": "other"}}, world.editor.token)
    assert codes(other) == [("INVALID_INPUT", ["taskId"])]


async def test_each_create_returns_its_first_result_and_refuses_a_key_reused_for_other_input(
    api, world, settings
) -> None:
    task = await models.Task.create(residence=world.residence, title="Filter", frequency="WEEKLY", due_date=TODAY,
                                    anchor_date=TODAY)
    photo = await ready_media(world.editor, MediaPurpose.DOCUMENT_FILE, world.residence.id, world.residence.id)
    cases = [
        (CREATE_TASK, {"residenceId": world.rid, "title": "Gutters"}, {"title": "Roof"}, "task", models.Task),
        (CREATE_RESIDENCE, {"name": "Cabin"}, {"timezone": "Europe/Paris"}, "residence", models.Residence),
        (CREATE_DOCUMENT, {"residenceId": world.rid, "title": "Manual", "fileIds": [str(photo.id)]},
         {"title": "Warranty"}, "document", models.Document),
        (REQUEST_UPLOAD, {"purpose": "COMPLETION_PHOTO", "targetId": str(task.id), "filename": "a.png",
                          "contentType": "image/png", "size": 100}, {"size": 101}, "media", models.Media),
        (COMPLETE, {"taskId": str(task.id)}, {"notes": "other"}, "completion", models.TaskCompletion),
    ]
    for query, fields, changed, result, model in cases:
        key = f"key-{result}"
        before = await model.all().count()
        first = await run(api, query, {"i": {**fields, "idempotencyKey": key}}, world.editor.token)
        assert first["userErrors"] == [], (result, first)
        again = await run(api, query, {"i": {**fields, "idempotencyKey": key}}, world.editor.token)
        assert again["userErrors"] == [] and again[result]["id"] == first[result]["id"], result
        reused = await run(api, query, {"i": {**fields, **changed, "idempotencyKey": key}}, world.editor.token)
        assert codes(reused) == [("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])], result
        assert reused[result] is None
        assert await model.all().count() == before + 1, result
        # The same key in another operation is reuse too; another user's key is theirs alone.
        elsewhere = await run(api, CREATE_RESIDENCE, {"i": {"name": "X", "idempotencyKey": key}}, world.editor.token)
        assert codes(elsewhere) == [("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])]
    mine = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "idempotencyKey": "key-residence"}},
                     world.owner.token)
    assert mine["userErrors"] == [] and await models.Residence.filter(name="Cabin").count() == 2


async def test_a_key_is_at_most_64_characters(api, world) -> None:
    too_long = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "idempotencyKey": "k" * 65}},
                         world.owner.token)
    empty = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "idempotencyKey": ""}}, world.owner.token)
    assert codes(too_long) == codes(empty) == [("INVALID_INPUT", ["idempotencyKey"])]
    fits = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "idempotencyKey": "k" * 64}}, world.owner.token)
    assert fits["userErrors"] == []
    assert await models.Residence.filter(name="Cabin").count() == 1


async def test_a_failed_first_request_leaves_the_key_free(api, world) -> None:
    bad = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "timezone": "Mars/Olympus", "idempotencyKey": "k"}},
                    world.owner.token)
    assert codes(bad) == [("INVALID_TIMEZONE", ["timezone"])]
    good = await run(api, CREATE_RESIDENCE, {"i": {"name": "Cabin", "idempotencyKey": "k"}}, world.owner.token)
    assert good["userErrors"] == [] and await models.IdempotencyKey.all().count() == 1


async def test_a_deleted_result_is_not_found_and_expired_keys_are_replaced_and_cleaned_up(api, world) -> None:
    variables = {"i": {"residenceId": world.rid, "title": "Gutters", "idempotencyKey": "gutters"}}
    first = await run(api, CREATE_TASK, variables, world.editor.token)
    await models.Task.filter(id=first["task"]["id"]).delete()
    gone = await run(api, CREATE_TASK, variables, world.editor.token)
    assert codes(gone) == [("NOT_FOUND", ["idempotencyKey"])] and gone["task"] is None

    # After 24 hours the key is free: the same request acts again, and the old claim is replaced.
    day_ago = FROZEN_NOW - timedelta(hours=24, minutes=1)
    await models.IdempotencyKey.filter(key="gutters").update(created_at=day_ago)
    fresh = await run(api, CREATE_TASK, variables, world.editor.token)
    assert fresh["userErrors"] == [] and fresh["task"]["id"] != first["task"]["id"]
    assert await models.IdempotencyKey.filter(key="gutters").count() == 1

    stale_owner = await make_actor("stale")
    await models.IdempotencyKey.create(user=stale_owner.user, key="old", operation="createTask", request_hash="0" * 64,
                                       result_id=uuid.uuid4())
    await models.IdempotencyKey.filter(key="old").update(created_at=day_ago)
    assert await cleanup.expire_idempotency_keys(FROZEN_NOW) == 1
    assert await models.IdempotencyKey.filter(key="gutters").exists()
    assert not await models.IdempotencyKey.filter(key="old").exists()
