"""Notifications over GraphQL: the list, marking read, and notification preferences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from honeydue import models
from tests.plugins.domain import World, error_code, make_world

LIST = """query($unread: Boolean, $first: Int) { notifications(unreadOnly: $unread, first: $first) {
  totalCount pageInfo { hasNextPage } edges { node { id type title read readAt task { id } document { id } } } } }"""
MARK = "mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) { ok marked " \
       "userErrors { field code } } }"
PREFS = "{ me { notificationPreferences { type enabled hourOfDay } } }"
UPDATE_PREFS = """mutation($i: UpdateNotificationPreferencesInput!) { updateNotificationPreferences(input: $i) {
  user { id } preferences { type enabled hourOfDay } userErrors { field code } } }"""
MEMBER_PREFS = "query($id: ID!) { residence(id: $id) { members { user { notificationPreferences { type } } } } }"


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def notify(user: models.User, title: str, minutes_ago: int, **fields: object) -> models.Notification:
    row = await models.Notification.create(user=user, type=fields.pop("type", "TASK_DUE_SOON"), title=title,
                                           **fields)
    created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    await models.Notification.filter(id=row.id).update(created_at=created)
    return row


async def test_notifications_newest_first_and_unread_only(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="t")
    await notify(world.viewer.user, "old", 30, task=task)
    await notify(world.viewer.user, "new", 1, type="TASK_OVERDUE")
    await notify(world.viewer.user, "read", 10, read_at=datetime.now(UTC))
    await notify(world.editor.user, "not mine", 0)
    result = (await api.execute(LIST, {"first": 2}, token=world.viewer.token))["data"]["notifications"]
    assert result["totalCount"] == 3 and result["pageInfo"]["hasNextPage"] is True
    assert [(e["node"]["title"], e["node"]["type"]) for e in result["edges"]] == [("new", "TASK_OVERDUE"),
                                                                                  ("read", "TASK_DUE_SOON")]
    unread = (await api.execute(LIST, {"unread": True}, token=world.viewer.token))["data"]["notifications"]
    assert [(e["node"]["title"], e["node"]["read"]) for e in unread["edges"]] == [("new", False), ("old", False)]
    assert unread["edges"][1]["node"]["task"] == {"id": str(task.id)}


async def test_notification_hides_task_of_a_residence_left(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="t")
    document = await models.Document.create(residence=world.residence, title="d")
    await notify(world.viewer.user, "n", 1, task=task, document=document)
    await models.Membership.filter(user_id=world.viewer.user.id).delete()
    node = (await api.execute(LIST, {}, token=world.viewer.token))["data"]["notifications"]["edges"][0]["node"]
    assert (node["task"], node["document"]) == (None, None)


async def test_mark_notifications_read(api, world) -> None:
    mine = [await notify(world.viewer.user, f"n{i}", i) for i in range(3)]
    theirs = await notify(world.editor.user, "theirs", 0)
    ids = [str(mine[0].id), str(mine[1].id), str(theirs.id)]
    result = await api.execute(MARK, {"i": {"ids": ids}}, token=world.viewer.token)
    assert result["data"]["markNotificationsRead"] == {"ok": True, "marked": 2, "userErrors": []}
    assert await models.Notification.filter(read_at__isnull=True).count() == 2  # mine[2] and theirs
    assert (await models.Notification.get(id=theirs.id)).read_at is None
    again = await api.execute(MARK, {"i": {"ids": ids}}, token=world.viewer.token)
    assert again["data"]["markNotificationsRead"]["marked"] == 0


async def test_mark_notifications_read_errors(api, world) -> None:
    result = await api.execute(MARK, {"i": {"ids": ["junk"]}}, token=world.viewer.token)
    assert result["data"]["markNotificationsRead"] == {"ok": False, "marked": 0,
                                                       "userErrors": [{"field": ["ids", "0"], "code": "NOT_FOUND"}]}
    assert error_code(await api.execute(MARK, {"i": {"ids": []}})) == "UNAUTHENTICATED"
    assert error_code(await api.execute(LIST, {})) == "UNAUTHENTICATED"


async def test_preferences_default_then_update(api, world) -> None:
    defaults = (await api.execute(PREFS, token=world.viewer.token))["data"]["me"]["notificationPreferences"]
    assert {p["type"] for p in defaults} == {t.value for t in models.NotificationType}
    assert all(p["enabled"] and p["hourOfDay"] == 20 for p in defaults)
    change = [{"type": "TASK_OVERDUE", "enabled": False, "hourOfDay": 7}, {"type": "WARRANTY_EXPIRING",
                                                                          "enabled": True, "hourOfDay": 0}]
    payload = (await api.execute(UPDATE_PREFS, {"i": {"preferences": change}}, token=world.viewer.token))["data"][
        "updateNotificationPreferences"]
    assert payload["userErrors"] == [] and payload["user"] == {"id": world.viewer.id}
    by_type = {p["type"]: p for p in payload["preferences"]}
    assert by_type["TASK_OVERDUE"] == {"type": "TASK_OVERDUE", "enabled": False, "hourOfDay": 7}
    assert by_type["WARRANTY_EXPIRING"]["hourOfDay"] == 0 and by_type["TASK_DUE_SOON"]["hourOfDay"] == 20
    # Updating again changes the stored row rather than adding one.
    await api.execute(UPDATE_PREFS, {"i": {"preferences": [{"type": "TASK_OVERDUE", "enabled": True}]}},
                      token=world.viewer.token)
    assert await models.NotificationPreference.filter(user_id=world.viewer.user.id).count() == 2
    assert (await models.NotificationPreference.get(user_id=world.viewer.user.id, type="TASK_OVERDUE")).enabled


@pytest.mark.parametrize(
    ("preferences", "field"),
    [
        ([{"type": "TASK_OVERDUE", "enabled": True, "hourOfDay": 24}], ["preferences", "0", "hourOfDay"]),
        ([{"type": "TASK_OVERDUE", "enabled": True, "hourOfDay": -1}], ["preferences", "0", "hourOfDay"]),
        ([{"type": "TASK_OVERDUE", "enabled": True}, {"type": "TASK_OVERDUE", "enabled": False}],
         ["preferences", "1"]),
    ],
)
async def test_preferences_user_errors(api, world, preferences, field) -> None:
    result = await api.execute(UPDATE_PREFS, {"i": {"preferences": preferences}}, token=world.viewer.token)
    payload = result["data"]["updateNotificationPreferences"]
    assert payload["userErrors"] == [{"field": field, "code": "INVALID_INPUT"}] and payload["preferences"] is None
    assert await models.NotificationPreference.all().count() == 0


async def test_other_members_cannot_read_preferences(api, world) -> None:
    result = await api.execute(MEMBER_PREFS, {"id": world.rid}, token=world.viewer.token)
    assert error_code(result) == "FORBIDDEN"
