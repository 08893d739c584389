"""Two writes racing for one uploaded file: the attach is guarded inside the transaction, so one wins.

``check_attachable`` runs before the transaction, so both requests pass it; only the guarded update (attach
while still unattached) tells them apart. The requests run at once through the app (``asyncio.gather``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from honeydue import models
from honeydue.models import MediaPurpose
from tests.conftest import FROZEN_NOW
from tests.plugins.domain import World, make_world, ready_media

# "Today" is the same for the code and the test (the clock seam, honeydue/clock.py).
pytestmark = pytest.mark.usefixtures("frozen_now")
TODAY = FROZEN_NOW.date()

COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) {
  completion { id photos { id } } userErrors { field code } } }"""
CREATE_DOCUMENT = """mutation($i: CreateDocumentInput!) { createDocument(input: $i) {
  document { id files { id } } userErrors { field code } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def payloads(api, query: str, inputs: list[dict], token: str) -> list[dict]:
    results = await asyncio.gather(*(api.execute(query, {"i": i}, token=token) for i in inputs))
    assert all("errors" not in r for r in results), results
    return [next(iter(r["data"].values())) for r in results]


async def test_two_completions_with_the_same_photo_one_wins(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="Filter", frequency="WEEKLY", due_date=TODAY,
                                    anchor_date=TODAY)
    photo = await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    inputs = [{"taskId": str(task.id), "photoIds": [str(photo.id)], "notes": n} for n in ("first", "second")]
    results = await payloads(api, COMPLETE, inputs, world.editor.token)
    won = [p for p in results if p["completion"] is not None]
    lost = [p for p in results if p["completion"] is None]
    assert len(won) == 1 and won[0]["completion"]["photos"] == [{"id": str(photo.id)}]
    assert lost[0]["userErrors"] == [{"field": ["photoIds", "0"], "code": "MEDIA_IN_USE"}]
    # The loser recorded nothing: one completion, one step of the schedule, the photo where the winner put it.
    assert await models.TaskCompletion.filter(task_id=task.id).count() == 1
    assert (await models.Task.get(id=task.id)).due_date == TODAY + timedelta(weeks=1)
    assert str((await models.Media.get(id=photo.id)).completion_id) == won[0]["completion"]["id"]


async def test_two_documents_with_the_same_file_one_wins(api, world) -> None:
    manual = await ready_media(world.editor, MediaPurpose.DOCUMENT_FILE, world.residence.id, world.residence.id)
    inputs = [{"residenceId": world.rid, "title": t, "fileIds": [str(manual.id)]} for t in ("Manual", "Copy")]
    results = await payloads(api, CREATE_DOCUMENT, inputs, world.editor.token)
    won = [p for p in results if p["document"] is not None]
    lost = [p for p in results if p["document"] is None]
    assert len(won) == 1 and won[0]["document"]["files"] == [{"id": str(manual.id)}]
    assert lost[0]["userErrors"] == [{"field": ["fileIds", "0"], "code": "MEDIA_IN_USE"}]
    assert await models.Document.all().count() == 1
    assert str((await models.Media.get(id=manual.id)).document_id) == won[0]["document"]["id"]
