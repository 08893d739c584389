"""``/actions/{token}``: a reminder's "Done" and "Snooze 1 day" links over HTTP, as a push client, a webhook
consumer and a browser use them. The email side (the buttons in the reminder) is in ``tests/test_action_emails.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest

from honeydue import notification_actions
from honeydue.action_pages import ACTIONS_PER_ADDRESS
from honeydue.models import ActionToken, Membership, Task, TaskCompletion
from honeydue.security_headers import CONTENT_SECURITY_POLICY
from honeydue.settings import Settings
from resolvers.notification_actions import USED
from tests.conftest import FrozenClock
from tests.plugins.domain import World, make_world

DUE = date(2025, 6, 18)  # frozen_now's date
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture
async def http(api_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app, client=("203.0.113.21", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _task(world: World, **fields: object) -> Task:
    values: dict[str, object] = dict(residence=world.residence, title="Clean gutters", frequency="MONTHLY",
                                     due_date=DUE)
    values.update(fields)
    return await Task.create(**values)


async def _links(settings: Settings, world: World, task: Task) -> dict[str, str]:
    """The paths of the editor's Done and Snooze links for ``task``."""
    actions = await notification_actions.task_actions(world.editor.user.id, task.id, settings=settings)
    return {a.id: "/actions/" + a.url.rsplit("/actions/", 1)[1] for a in actions}


async def test_get_shows_a_confirmation_form_and_changes_nothing(
        http: httpx.AsyncClient, settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    for _ in range(2):  # a mail scanner, then the person
        page = await http.get(links["done"], headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "Mark \u201cClean gutters\u201d in Home as done?" in page.text
        assert f'<form method="post" action="{links["done"]}">' in page.text
        assert "<script" not in page.text and "style=" not in page.text
    snooze = await http.get(links["snooze"], headers=HTML)
    assert "for 1 day?" in snooze.text and "start again on Thursday, June 19, 2025" in snooze.text
    # HEAD is GET without a body: nothing happens either.
    assert (await http.head(links["snooze"])).status_code == 200
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    fresh = await Task.get(id=task.id)
    assert fresh.due_date == DUE and fresh.snoozed_until is None
    assert await ActionToken.filter(used_at__isnull=False).count() == 0


async def test_post_done_completes_the_task_once(http: httpx.AsyncClient, settings: Settings,
                                                 frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    answer = await http.post(links["done"], headers=JSON)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is True and body["action"] == "done"
    assert body["task"]["id"] == str(task.id) and body["task"]["dueDate"] == "2025-07-18"
    assert body["message"] == "\u201cClean gutters\u201d is done."
    completion = await TaskCompletion.get(task_id=task.id)
    assert completion.completed_by_id == world.editor.user.id and not completion.skipped
    assert completion.completed_at == frozen_now.now
    assert (await Task.get(id=task.id)).due_date == date(2025, 7, 18)
    # A replay (a retried push action, a second click) is 410 and does nothing.
    again = await http.post(links["done"], headers=JSON)
    assert again.status_code == 410
    assert again.json() == {"ok": False, "error": "used", "message": USED}
    assert await TaskCompletion.filter(task_id=task.id).count() == 1
    # The snooze link of the same reminder is now out of date: the occurrence it was about is done.
    stale = await http.post(links["snooze"], headers=JSON)
    assert stale.status_code == 410 and stale.json()["error"] == "moved_on"
    assert (await Task.get(id=task.id)).snoozed_until is None


async def test_a_bare_empty_post_acts(http: httpx.AsyncClient, settings: Settings, frozen_now: FrozenClock) -> None:
    """What a push action or a webhook consumer sends: no Accept, no body, no content type."""
    world = await make_world()
    task = await _task(world, frequency="ONCE")
    links = await _links(settings, world, task)
    answer = await http.post(links["done"], headers={"Accept": ""})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json()["task"]["completed"] is True
    assert (await Task.get(id=task.id)).completed is True


async def test_the_browser_button_answers_with_a_page(http: httpx.AsyncClient, settings: Settings,
                                                      frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    # What the confirmation form sends: an empty urlencoded body.
    answer = await http.post(links["done"], headers={**HTML, "Content-Type": "application/x-www-form-urlencoded"},
                             content=b"")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "\u201cClean gutters\u201d is done." in answer.text and "Next due Friday, July 18, 2025." in answer.text
    again = await http.post(links["done"], headers=HTML)
    assert again.status_code == 410 and "already used" in again.text
    assert (await http.get(links["done"], headers=HTML)).status_code == 410


async def test_post_snooze_holds_the_reminders_back_a_day(http: httpx.AsyncClient, settings: Settings,
                                                          frozen_now: FrozenClock) -> None:
    world = await make_world(timezone="Pacific/Auckland")  # already June 19 there at 12:00 UTC
    task = await _task(world)
    links = await _links(settings, world, task)
    answer = await http.post(links["snooze"], headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["task"]["snoozedUntil"] == "2025-06-20"
    fresh = await Task.get(id=task.id)
    assert fresh.snoozed_until == date(2025, 6, 20) and fresh.due_date == DUE
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    assert (await http.post(links["snooze"], headers=JSON)).status_code == 410
    # Snoozing does not move the occurrence: the Done link still works.
    assert (await http.post(links["done"], headers=JSON)).status_code == 200


async def test_an_expired_link_is_410_and_does_nothing(http: httpx.AsyncClient, settings: Settings,
                                                       frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    frozen_now.now += timedelta(days=7)
    for path in links.values():
        answer = await http.post(path, headers=JSON)
        assert answer.status_code == 410 and answer.json()["error"] == "expired"
        page = await http.get(path, headers=HTML)
        assert page.status_code == 410 and "expired" in page.text
    fresh = await Task.get(id=task.id)
    assert fresh.due_date == DUE and fresh.snoozed_until is None
    assert await TaskCompletion.filter(task_id=task.id).count() == 0


async def test_done_from_an_older_reminder_never_completes_the_next_occurrence(
        http: httpx.AsyncClient, settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    push = await _links(settings, world, task)
    email = await _links(settings, world, task)  # the same reminder's email, with its own links
    assert (await http.post(push["done"], headers=JSON)).status_code == 200
    answer = await http.post(email["done"], headers=JSON)
    assert answer.status_code == 410 and answer.json()["error"] == "moved_on"
    assert await TaskCompletion.filter(task_id=task.id).count() == 1
    # A refused link stays unused: it says the same thing next time.
    assert (await http.post(email["done"], headers=JSON)).json()["error"] == "moved_on"


async def test_a_cancelled_task_takes_no_action(http: httpx.AsyncClient, settings: Settings,
                                                frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    await Task.filter(id=task.id).update(cancelled=True)
    assert (await http.post(links["done"], headers=JSON)).status_code == 410
    assert await TaskCompletion.filter(task_id=task.id).count() == 0


async def test_a_member_who_lost_the_role_is_refused(http: httpx.AsyncClient, settings: Settings,
                                                     frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    await Membership.filter(user_id=world.editor.user.id).update(role="VIEWER")
    answer = await http.post(links["done"], headers=JSON)
    assert answer.status_code == 403 and answer.json()["error"] == "not_allowed"
    page = await http.get(links["done"], headers=HTML)
    assert page.status_code == 403 and "EDITOR role" in page.text and "<form" not in page.text
    await Membership.filter(user_id=world.editor.user.id).delete()
    assert (await http.post(links["snooze"], headers=JSON)).status_code == 403
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    assert (await Task.get(id=task.id)).snoozed_until is None
    # Nothing was used up: given the role back, the link works.
    await Membership.create(residence=world.residence, user=world.editor.user, role="EDITOR")
    assert (await http.post(links["done"], headers=JSON)).status_code == 200


async def test_a_link_that_is_not_ours_is_404(http: httpx.AsyncClient, settings: Settings) -> None:
    for path in ("/actions/" + "A" * 43, "/actions/short", "/actions/%27%3B--"):
        assert (await http.post(path, headers=JSON)).status_code == 404
        page = await http.get(path, headers=HTML)
        assert page.status_code == 404 and "not valid" in page.text
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    await task.delete()  # the links go with the task
    assert (await http.post(links["done"], headers=JSON)).status_code == 404


async def test_requests_are_limited_per_client_address(api_app: object, settings: Settings) -> None:
    world = await make_world()
    task = await _task(world)
    links = await _links(settings, world, task)
    transport = httpx.ASGITransport(app=api_app, client=("198.51.100.4", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as flood:
        for _ in range(ACTIONS_PER_ADDRESS):
            assert (await flood.get("/actions/" + "B" * 43, headers=JSON)).status_code == 404
        limited = await flood.post(links["done"], headers=JSON)
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    # Another address is not affected.
    transport = httpx.ASGITransport(app=api_app, client=("198.51.100.5", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await other.post(links["done"], headers=JSON)).status_code == 200


async def test_racing_links_complete_the_task_once(http: httpx.AsyncClient, settings: Settings,
                                                   frozen_now: FrozenClock) -> None:
    """One link posted twice at once, and the push's and the email's Done at once: one completion each time."""
    world = await make_world()
    task = await _task(world)
    push = await _links(settings, world, task)
    email = await _links(settings, world, task)
    answers = await asyncio.gather(*(http.post(path, headers=JSON) for path in (push["done"], push["done"],
                                                                                 email["done"])))
    assert sorted(a.status_code for a in answers) == [200, 410, 410]
    assert await TaskCompletion.filter(task_id=task.id).count() == 1
    assert (await Task.get(id=task.id)).due_date == date(2025, 7, 18)


async def test_an_action_the_task_refuses_is_409_and_leaves_the_link_usable(
        http: httpx.AsyncClient, settings: Settings, frozen_now: FrozenClock) -> None:
    world = await make_world()
    task = await _task(world, due_date=date(9999, 12, 20))  # the next due date would be past the year 9999
    links = await _links(settings, world, task)
    answer = await http.post(links["done"], headers=JSON)
    assert answer.status_code == 409 and answer.json()["error"] == "refused"
    assert "9999" in answer.json()["message"]
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    assert await ActionToken.filter(used_at__isnull=False).count() == 0
