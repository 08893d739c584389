"""A task reminder's action links ("Done", "Snooze 1 day"): minting, storage and the token's lifecycle.

The HTTP side (the ``/actions/{token}`` pages and the JSON answers) is tested in ``tests/test_action_pages.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from honeydue import notification_actions
from honeydue.models import ActionToken, Membership, NotificationAction, Task
from honeydue.settings import Settings
from tests.conftest import FrozenClock, make_settings
from tests.plugins.domain import World, make_world

APP_URL = "https://app.honeydue.test"


@pytest.fixture
def app_settings(settings: Settings, tmp_path) -> Settings:
    return make_settings(tmp_path, DATABASE_URL=settings.database_url, PUBLIC_APP_URL=APP_URL)


async def _task(world: World, **fields: object) -> Task:
    values: dict[str, object] = dict(residence=world.residence, title="Clean gutters", frequency="MONTHLY",
                                     due_date=date(2025, 6, 18))
    values.update(fields)
    return await Task.create(**values)


def _token_of(url: str) -> str:
    prefix = f"{APP_URL}/actions/"
    assert url.startswith(prefix), url
    return url[len(prefix):]


async def test_task_actions_are_done_and_snooze_links_stored_only_as_hashes(
        app_settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    actions = await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings)
    assert [(a.id, a.title) for a in actions] == [("done", "Done"), ("snooze", "Snooze 1 day")]
    raws = [_token_of(a.url) for a in actions]
    assert len(set(raws)) == 2 and all(len(raw) >= 43 for raw in raws)
    rows = await ActionToken.filter(task_id=task.id).order_by("action")
    assert [r.action for r in rows] == [NotificationAction.DONE, NotificationAction.SNOOZE]
    for row in rows:
        assert row.user_id == world.editor.user.id
        assert row.due_date == date(2025, 6, 18)
        assert row.expires_at == frozen_now.now + timedelta(days=7)
        assert row.used_at is None
    # No column holds the secret itself, only its SHA-256.
    stored = {str(v) for row in await ActionToken.all().values() for v in row.values()}
    assert not stored & set(raws)
    assert {notification_actions.hash_action_token(raw) for raw in raws} <= stored


async def test_each_call_mints_fresh_links_and_leaves_earlier_ones_live(app_settings: Settings) -> None:
    world = await make_world()
    task = await _task(world)
    first = await notification_actions.task_actions(world.owner.user.id, task.id, settings=app_settings)
    second = await notification_actions.task_actions(world.owner.user.id, task.id, settings=app_settings)
    assert {a.url for a in first}.isdisjoint(a.url for a in second)
    for action in (*first, *second):
        token = await notification_actions.find(_token_of(action.url))
        assert token is not None and notification_actions.is_live(token)


async def test_no_actions_for_a_viewer_an_outsider_or_a_missing_task(app_settings: Settings) -> None:
    world = await make_world()
    task = await _task(world)
    for who in (world.viewer, world.outsider):
        assert await notification_actions.task_actions(who.user.id, task.id, settings=app_settings) == ()
    assert await notification_actions.task_actions(world.owner.user.id, world.residence.id, settings=app_settings) == ()
    assert await notification_actions.task_actions(world.owner.user.id, "not-an-id", settings=app_settings) == ()
    # A member who lost the editor role gets no more buttons.
    await Membership.filter(user_id=world.editor.user.id).update(role="VIEWER")
    assert await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings) == ()
    assert await ActionToken.all().count() == 0


async def test_a_token_is_used_once(app_settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    done, _ = await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings)
    token = await notification_actions.find(_token_of(done.url))
    assert token is not None and token.user.id == world.editor.user.id and token.task.id == task.id
    assert await notification_actions.use(token) is True
    assert await notification_actions.use(token) is False
    again = await notification_actions.find(_token_of(done.url))
    assert again is not None and not notification_actions.is_live(again)
    assert again.used_at == frozen_now.now


async def test_a_token_expires_after_seven_days(app_settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    _, snooze = await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings)
    raw = _token_of(snooze.url)
    frozen_now.now += timedelta(days=7) - timedelta(seconds=1)
    token = await notification_actions.find(raw)
    assert token is not None and notification_actions.is_live(token)
    frozen_now.now += timedelta(seconds=1)
    token = await notification_actions.find(raw)
    assert token is not None and not notification_actions.is_live(token)
    assert await notification_actions.use(token) is False


async def test_strings_that_are_not_tokens_find_nothing(app_settings: Settings) -> None:
    for raw in ("", "short", "x" * 43 + "/", "a" * 101, "'; drop table action_tokens; --"):
        assert await notification_actions.find(raw) is None
    assert await notification_actions.find("A" * 43) is None  # well-formed, never issued


async def test_the_clean_up_deletes_links_a_week_after_they_expired(app_settings: Settings,
                                                                    frozen_now: FrozenClock) -> None:
    from workers import cleanup

    world = await make_world()
    task = await _task(world)
    old = await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings)
    frozen_now.now += timedelta(days=3)
    recent = await notification_actions.task_actions(world.editor.user.id, task.id, settings=app_settings)
    # Just over 14 days after the first pair was made: it expired over 7 days ago; the second pair 4 days ago.
    frozen_now.now += timedelta(days=11, minutes=1)
    assert await cleanup.expire_action_tokens(frozen_now.now) == 2
    assert [await notification_actions.find(_token_of(a.url)) for a in old] == [None, None]
    for action in recent:  # kept, so it still says why it does nothing
        token = await notification_actions.find(_token_of(action.url))
        assert token is not None and not notification_actions.is_live(token)
    assert await cleanup.expire_action_tokens(frozen_now.now) == 0
