"""The calendar feed: ``User.calendarFeedUrl``, ``rotateCalendarFeed`` and ``GET /calendar/<token>.ics``.

The feed is parsed with ``icalendar`` as a calendar app would, and its recurrence rules are expanded with
``dateutil.rrule`` and compared with ``honeydue.schedule``'s own next-due computation.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from honeydue import models
from honeydue.calendar_feed import FeedResidence, FeedTask, render_feed
from honeydue.links import app_link
from honeydue.models import TaskFrequency
from honeydue.schedule import next_due_date
from honeydue.services import attach_services, services_of
from tests.conftest import GraphQLClient
from tests.plugins.domain import error_code, make_actor, make_world

FEED_URL = "{ me { calendarFeedUrl } }"
ROTATE = "mutation { rotateCalendarFeed { url userErrors { code } } }"
MEMBERS_FEED_URLS = "query($id: ID!) { residence(id: $id) { members { user { id calendarFeedUrl } } } }"


async def feed_url(api: GraphQLClient, token: str) -> str:
    result = await api.execute(FEED_URL, token=token)
    assert "errors" not in result, result
    return result["data"]["me"]["calendarFeedUrl"]


async def get_feed(api: GraphQLClient, url: str, **headers: str):
    parts = urlsplit(url)
    return await api.http.get(parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)


def events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def uid(task: models.Task) -> str:
    return f"task-{task.id}@honeydue"


# --- the feed over HTTP ------------------------------------------------------------------------------------


async def test_feed_lists_open_tasks_with_location_link_rule_and_alarm(api: GraphQLClient, settings) -> None:
    world = await make_world()
    today = datetime.now(UTC).date()
    weekly = await models.Task.create(residence=world.residence, title="Water plants", description="Both rooms",
                                      frequency="WEEKLY", due_date=today, anchor_date=today)
    rolling = await models.Task.create(residence=world.residence, title="Descale kettle", frequency="MONTHLY",
                                       rolling=True, due_date=today + timedelta(days=3))
    once = await models.Task.create(residence=world.residence, title="Fix gate", due_date=today + timedelta(days=9))
    hidden = [
        await models.Task.create(residence=world.residence, title="archived", frequency="WEEKLY", due_date=today,
                                 archived=True),
        await models.Task.create(residence=world.residence, title="cancelled", due_date=today, cancelled=True),
        await models.Task.create(residence=world.residence, title="done once", due_date=today, completed=True),
        await models.Task.create(residence=world.residence, title="no date", frequency="WEEKLY"),
    ]
    elsewhere = await models.Residence.create(name="Not mine")
    foreign = await models.Task.create(residence=elsewhere, title="theirs", due_date=today)

    url = await feed_url(api, world.editor.token)
    assert url == await feed_url(api, world.editor.token)  # stable across reads
    assert url.startswith(settings.effective_public_app_url + "/calendar/") and url.endswith(".ics")
    response = await get_feed(api, url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"].startswith("private, max-age=")
    found = events(response.content)
    assert set(found) == {uid(weekly), uid(rolling), uid(once)}
    assert not {uid(t) for t in [*hidden, foreign]} & set(found)

    event = found[uid(weekly)]
    assert str(event["summary"]) == "Water plants"
    assert event["dtstart"].dt == today and event["dtend"].dt == today + timedelta(days=1)
    assert str(event["location"]) == "Home, 1 Main St"
    link = app_link(settings, f"/tasks/{weekly.id}")
    assert str(event["url"]) == link and link in str(event["description"])
    assert "Both rooms" in str(event["description"])
    await weekly.refresh_from_db()
    assert event["dtstamp"].dt == weekly.updated_at.replace(microsecond=0)
    assert event["last-modified"].dt == weekly.updated_at.replace(microsecond=0)
    assert event["rrule"].to_ical() == b"FREQ=WEEKLY"
    (alarm,) = event.walk("VALARM")
    assert alarm["trigger"].to_ical() == b"-PT4H"  # the default hour, 20:00, on the day before
    assert "rrule" not in found[uid(rolling)] and "rrule" not in found[uid(once)]


async def test_alarm_follows_the_members_due_soon_hour(api: GraphQLClient, settings) -> None:
    world = await make_world()
    task = await models.Task.create(residence=world.residence, title="Filter", frequency="MONTHLY",
                                    due_date=date(2030, 5, 1))
    await models.NotificationPreference.create(user=world.viewer.user, type="TASK_DUE_SOON", hour_of_day=7)
    await models.NotificationPreference.create(user=world.editor.user, type="TASK_DUE_SOON", enabled=False)
    viewer = events((await get_feed(api, await feed_url(api, world.viewer.token))).content)[uid(task)]
    assert viewer.walk("VALARM")[0]["trigger"].to_ical() == b"-PT17H"  # 07:00 the day before
    owner = events((await get_feed(api, await feed_url(api, world.owner.token))).content)[uid(task)]
    assert owner.walk("VALARM")[0]["trigger"].to_ical() == b"-PT4H"
    editor = events((await get_feed(api, await feed_url(api, world.editor.token))).content)[uid(task)]
    assert editor.walk("VALARM") == []  # due-soon reminders turned off: no alarm either


async def test_rotate_kills_the_old_url(api: GraphQLClient, settings) -> None:
    world = await make_world()
    await models.Task.create(residence=world.residence, title="Filter", due_date=date(2030, 5, 1))
    old = await feed_url(api, world.owner.token)
    assert (await get_feed(api, old)).status_code == 200
    result = await api.execute(ROTATE, token=world.owner.token)
    new = result["data"]["rotateCalendarFeed"]["url"]
    assert result["data"]["rotateCalendarFeed"]["userErrors"] == []
    assert new != old and await feed_url(api, world.owner.token) == new
    gone = await get_feed(api, old)
    assert gone.status_code == 404 and b"VCALENDAR" not in gone.content
    assert (await get_feed(api, new)).status_code == 200


async def test_rotate_before_any_read_makes_the_feed(api: GraphQLClient, settings) -> None:
    world = await make_world()
    result = await api.execute(ROTATE, token=world.viewer.token)
    url = result["data"]["rotateCalendarFeed"]["url"]
    assert await feed_url(api, world.viewer.token) == url
    assert (await get_feed(api, url)).status_code == 200


async def test_matching_etag_answers_304_without_a_body(api: GraphQLClient, settings) -> None:
    world = await make_world()
    task = await models.Task.create(residence=world.residence, title="Filter", due_date=date(2030, 5, 1))
    url = await feed_url(api, world.owner.token)
    first = await get_feed(api, url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await get_feed(api, url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (await get_feed(api, url, **{"If-None-Match": f'"other", W/{etag}'})).status_code == 304
    assert (await get_feed(api, url, **{"If-None-Match": '"stale"'})).status_code == 200
    await models.Task.filter(id=task.id).update(title="Filter (MERV 13)", updated_at=datetime.now(UTC))
    changed = await get_feed(api, url, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert str(events(changed.content)[uid(task)]["summary"]) == "Filter (MERV 13)"


async def test_residence_parameter_narrows_the_feed_and_refuses_others(api: GraphQLClient, settings) -> None:
    world = await make_world()
    cabin = await models.Residence.create(name="Cabin", address="")
    await models.Membership.create(residence=cabin, user=world.editor.user, role="EDITOR")
    home_task = await models.Task.create(residence=world.residence, title="Home", due_date=date(2030, 1, 1))
    cabin_task = await models.Task.create(residence=cabin, title="Cabin", due_date=date(2030, 1, 2))
    url = await feed_url(api, world.editor.token)
    assert set(events((await get_feed(api, url)).content)) == {uid(home_task), uid(cabin_task)}
    only_cabin = await get_feed(api, f"{url}?residence={cabin.id}")
    found = events(only_cabin.content)
    assert set(found) == {uid(cabin_task)} and str(found[uid(cabin_task)]["location"]) == "Cabin"
    assert "Cabin" in str(Calendar.from_ical(only_cabin.content)["x-wr-calname"])
    # The viewer's feed must not open the cabin, a residence they are not a member of; nor may junk ids.
    viewer_url = await feed_url(api, world.viewer.token)
    for residence in (str(cabin.id), "not-a-uuid", str(uuid.uuid4()), ""):
        response = await get_feed(api, f"{viewer_url}?residence={residence}")
        assert response.status_code == 404, (residence, response.text)


async def test_removed_member_no_longer_sees_the_residence(api: GraphQLClient, settings) -> None:
    world = await make_world()
    task = await models.Task.create(residence=world.residence, title="Filter", due_date=date(2030, 1, 1))
    url = await feed_url(api, world.viewer.token)
    assert uid(task) in events((await get_feed(api, url)).content)
    await models.Membership.filter(user_id=world.viewer.user.id).delete()
    response = await get_feed(api, url)
    assert response.status_code == 200 and events(response.content) == {}


@pytest.mark.parametrize("path", ["/calendar/x.ics", "/calendar/" + "A" * 43 + ".ics", "/calendar/.ics",
                                  "/calendar/" + "A" * 500 + ".ics"])
async def test_unknown_tokens_answer_404(api: GraphQLClient, settings, path: str) -> None:
    response = await api.http.get(path)
    assert response.status_code == 404 and b"VCALENDAR" not in response.content


async def test_control_characters_in_text_do_not_break_the_feed(api: GraphQLClient, settings) -> None:
    world = await make_world()
    await models.Residence.filter(id=world.residence.id).update(name="Home;\x1b[31m, red", address="1 Main St\r\nUp")
    task = await models.Task.create(residence=world.residence, title="Bell\x07 ESC\x1b ; , \\ end\r\nBEGIN:VEVENT",
                                    description="line\rtwo\x0c", due_date=date(2030, 1, 1))
    response = await get_feed(api, await feed_url(api, world.owner.token))
    assert response.status_code == 200
    for line in response.content.split(b"\r\n"):
        assert not any(byte < 0x20 and byte != 0x09 for byte in line), line
    found = events(response.content)
    assert set(found) == {uid(task)}
    assert str(found[uid(task)]["summary"]) == "Bell ESC ; , \\ end\nBEGIN:VEVENT"
    assert str(found[uid(task)]["location"]) == "Home;[31m, red, 1 Main St\nUp"
    assert str(found[uid(task)]["description"]).startswith("line\ntwo")


async def test_only_the_user_sees_their_feed_url(api: GraphQLClient, settings) -> None:
    world = await make_world()
    result = await api.execute(MEMBERS_FEED_URLS, {"id": world.rid}, token=world.owner.token)
    assert error_code(result) == "FORBIDDEN"
    admin = await make_actor("admin", is_admin=True)
    await models.Membership.create(residence=world.residence, user=admin.user, role="VIEWER")
    result = await api.execute(MEMBERS_FEED_URLS, {"id": world.rid}, token=admin.token)
    assert error_code(result) == "FORBIDDEN"
    assert await models.CalendarFeed.filter(user_id=world.owner.user.id).count() == 0  # nothing made for others


async def test_anonymous_rotate_is_unauthenticated(api: GraphQLClient, settings) -> None:
    assert error_code(await api.execute(ROTATE)) == "UNAUTHENTICATED"


def use_settings(app, settings) -> None:
    """The app's services as a restart with ``settings`` would open them (keys included)."""
    services = replace(services_of(app), settings=settings, signing_keys=settings.signing_keys())
    attach_services(app, services)


async def test_feed_url_survives_a_signing_key_rotation(api: GraphQLClient, settings, api_app) -> None:
    """The URL is derived with the signing key: while the old key is MEDIA_SIGNING_KEY_PREVIOUS it is still
    shown, and it keeps serving; only the key's hash is stored."""
    world = await make_world()
    url = await feed_url(api, world.owner.token)
    token = urlsplit(url).path.removeprefix("/calendar/").removesuffix(".ics")
    row = await models.CalendarFeed.get(user_id=world.owner.user.id)
    assert token not in (row.nonce, row.token_hash)
    rotated = settings.model_copy(update={"media_signing_key": "a-new-key-" + "y" * 32,
                                          "media_signing_key_previous": settings.media_signing_key})
    use_settings(api_app, rotated)
    assert await feed_url(api, world.owner.token) == url
    assert (await get_feed(api, url)).status_code == 200
    use_settings(api_app, rotated.model_copy(update={"media_signing_key_previous": None}))
    fresh = await feed_url(api, world.owner.token)  # nothing can show the old URL any more: a new one
    assert fresh != url and (await get_feed(api, fresh)).status_code == 200
    assert (await get_feed(api, url)).status_code == 404


# --- recurrence against the schedule code --------------------------------------------------------------------

SCHEDULES = [
    (TaskFrequency.DAILY, None, date(2025, 3, 30)),
    (TaskFrequency.WEEKLY, None, date(2025, 2, 26)),
    (TaskFrequency.BIWEEKLY, None, date(2024, 12, 30)),
    (TaskFrequency.MONTHLY, None, date(2025, 1, 15)),
    (TaskFrequency.MONTHLY, None, date(2025, 1, 31)),  # clamps to Feb 28, Apr 30, back to the 31st
    (TaskFrequency.MONTHLY, None, date(2024, 1, 30)),
    (TaskFrequency.MONTHLY, None, date(2023, 12, 29)),
    (TaskFrequency.QUARTERLY, None, date(2024, 11, 30)),
    (TaskFrequency.QUARTERLY, None, date(2025, 3, 31)),
    (TaskFrequency.ANNUAL, None, date(2024, 2, 29)),  # Feb 28 in common years
    (TaskFrequency.ANNUAL, None, date(2025, 10, 31)),
    (TaskFrequency.CUSTOM, 10, date(2025, 1, 1)),
    (TaskFrequency.CUSTOM, 45, date(2025, 12, 31)),
]
OCCURRENCES = 30


def schedule_dates(frequency: TaskFrequency, interval: int | None, anchor: date, due: date, n: int) -> list[date]:
    """The next ``n`` due dates as ``honeydue.schedule`` gives them, each occurrence done on its day."""
    dates = [due]
    while len(dates) < n:
        current = dates[-1]
        following = next_due_date(frequency, interval, False, anchor, current, current, today=current)
        assert following is not None
        dates.append(following)
    return dates


def feed_task(frequency: TaskFrequency, interval: int | None, anchor: date, due: date,
              rolling: bool = False) -> FeedTask:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    return FeedTask(id=uuid.uuid4(), residence_id=RESIDENCE.id, title="t", description="", frequency=frequency,
                    interval_days=interval, rolling=rolling, anchor_date=anchor, due_date=due, created_at=moment,
                    updated_at=moment, link="https://app.example/tasks/x")


RESIDENCE = FeedResidence(uuid.uuid4(), "Home", "")


def feed_occurrences(task: FeedTask, n: int) -> list[date]:
    (event,) = Calendar.from_ical(render_feed("t", [task], {RESIDENCE.id: RESIDENCE}, 20)).walk("VEVENT")
    start = event["dtstart"].dt
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=datetime(start.year, start.month, start.day))
    return [moment.date() for moment in rule[:n]]


@pytest.mark.parametrize(("frequency", "interval", "anchor"), SCHEDULES,
                         ids=[f"{f.value}-{i or ''}-{a}" for f, i, a in SCHEDULES])
@pytest.mark.parametrize("cycles_on", [0, 1, 5])
def test_rrule_occurrences_match_the_schedule(frequency: TaskFrequency, interval: int | None, anchor: date,
                                              cycles_on: int) -> None:
    """The feed starts at the current due date (some slot of the anchor) and recurs on the schedule's slots."""
    due = schedule_dates(frequency, interval, anchor, anchor, cycles_on + 1)[-1]
    expected = schedule_dates(frequency, interval, anchor, due, OCCURRENCES)
    assert feed_occurrences(feed_task(frequency, interval, anchor, due), OCCURRENCES) == expected


def test_nul_and_other_controls_are_dropped_from_text() -> None:
    """PostgreSQL stores no NUL, SQLite does: the renderer drops it with every other control character."""
    task = feed_task(TaskFrequency.ONCE, None, date(2025, 1, 1), date(2025, 1, 1))
    task = FeedTask(**{**task.__dict__, "title": "a\x00b\x7fc\x85d\te"})
    body = render_feed("t", [task], {RESIDENCE.id: RESIDENCE}, None)
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["summary"]) == "abcd\te" and b"\x00" not in body


def test_rolling_and_once_tasks_do_not_recur() -> None:
    for task in (feed_task(TaskFrequency.WEEKLY, None, date(2025, 1, 1), date(2025, 1, 1), rolling=True),
                 feed_task(TaskFrequency.ONCE, None, date(2025, 1, 1), date(2025, 1, 1))):
        (event,) = Calendar.from_ical(render_feed("t", [task], {RESIDENCE.id: RESIDENCE}, None)).walk("VEVENT")
        assert "rrule" not in event and event.walk("VALARM") == []


async def test_feed_events_follow_completions(api: GraphQLClient, settings) -> None:
    """Through the API: complete a fixed monthly task anchored on the 31st; the feed moves to the schedule's
    next slot and its rule keeps producing the schedule's dates."""
    world = await make_world()
    today = datetime.now(UTC).date()
    anchor = date(today.year - 1, 1, 31)
    task = await models.Task.create(residence=world.residence, title="Gutters", frequency="MONTHLY",
                                    anchor_date=anchor, due_date=anchor)
    complete = "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { dueDate } userErrors { code } } }"
    result = await api.execute(complete, {"i": {"taskId": str(task.id)}}, token=world.editor.token)
    due = date.fromisoformat(result["data"]["completeTask"]["task"]["dueDate"])
    event = events((await get_feed(api, await feed_url(api, world.owner.token))).content)[uid(task)]
    assert event["dtstart"].dt == due
    start = datetime(due.year, due.month, due.day)
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    assert [d.date() for d in rule[:12]] == schedule_dates(TaskFrequency.MONTHLY, None, anchor, due, 12)


def test_both_api_apps_serve_the_feed(settings) -> None:
    """``honeydue api`` serves the feed as ``honeydue serve`` does (the Ingress sends /calendar to the api)."""
    from honeydue.app import create_api_app, create_embedded_app

    for app in (create_api_app(settings), create_embedded_app(settings)):
        assert "/calendar/{token}.ics" in {getattr(route, "path", None) for route in app.routes}
