"""``GET /calendar/<token>.ics``: a user's open tasks as a subscribable calendar (docs/calendar.md).

The token is the whole credential (honeydue.calendar_tokens): no session, no header. Anything that is not a
live feed's token, a ``residence`` that is malformed or not one of the user's, answers the same bare 404.

A request costs four SQL statements whatever the number of residences and tasks: the token, the user's
memberships with their residences, the open tasks of those residences, and the user's due-soon preference.
The body is rendered from those rows alone (no clock), so its hash is the ETag: a calendar app polling with
``If-None-Match`` gets a 304 without a body while nothing it shows has changed.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.conditional import field_list, parse_etag_list
from honeydue.calendar_feed import FeedResidence, FeedTask, render_feed
from honeydue.calendar_tokens import feed_owner
from honeydue.links import app_link
from honeydue.models import Membership, NotificationPreference, NotificationType, Task
from honeydue.services import services_of
from honeydue.settings import Settings

MEDIA_TYPE = "text/calendar; charset=utf-8"
# Calendar apps poll every few minutes to hours; a cache (the app's own, never a shared one: the URL is a
# secret) may reuse the feed for 15 minutes, and revalidating after that costs a 304.
CACHE_CONTROL = "private, max-age=900"
# The feed lists at most this many tasks, the soonest due first: enough for any household, and a bound on
# the work one request can ask for.
FEED_MAX_EVENTS = 1000
FEED_NAME = "honeydue"
DEFAULT_REMINDER_HOUR: int = NotificationPreference._meta.fields_map["hour_of_day"].default


@dataclass(frozen=True)
class FeedData:
    name: str
    tasks: list[FeedTask]
    residences: dict[uuid.UUID, FeedResidence]
    reminder_hour: int | None


def not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers={"Cache-Control": "no-store"})


def parse_residence(value: str | None) -> uuid.UUID | None:
    """The ``residence`` query parameter as a UUID; raises ValueError when it is present but malformed."""
    return None if value is None else uuid.UUID(value)


async def load_feed(settings: Settings, user_id: uuid.UUID, residence_id: uuid.UUID | None) -> FeedData | None:
    """What the feed shows, in three statements; None when ``residence_id`` is not one of the user's."""
    memberships = Membership.filter(user_id=user_id)
    if residence_id is not None:
        memberships = memberships.filter(residence_id=residence_id)
    residences = {
        m.residence_id: FeedResidence(m.residence_id, m.residence.name, m.residence.address)
        for m in await memberships.select_related("residence")
    }
    if residence_id is not None and not residences:
        return None
    rows = await Task.filter(
        residence_id__in=list(residences), archived=False, cancelled=False, completed=False, due_date__isnull=False,
    ).order_by("due_date", "id").limit(FEED_MAX_EVENTS) if residences else []
    preference = await NotificationPreference.filter(
        user_id=user_id, type=NotificationType.TASK_DUE_SOON).values_list("enabled", "hour_of_day")
    enabled, hour = preference[0] if preference else (True, DEFAULT_REMINDER_HOUR)
    tasks = [
        FeedTask(id=t.id, residence_id=t.residence_id, title=t.title, description=t.description,
                 frequency=t.frequency, interval_days=t.interval_days, rolling=t.rolling, anchor_date=t.anchor_date,
                 due_date=t.due_date, created_at=t.created_at, updated_at=t.updated_at,
                 link=app_link(settings, f"/tasks/{t.id}"))
        for t in rows if t.due_date is not None
    ]
    name = FEED_NAME if residence_id is None else f"{FEED_NAME}: {residences[residence_id].name}"
    return FeedData(name, tasks, residences, hour if enabled else None)


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2) or is ``*``."""
    header = field_list(request.headers, "if-none-match")
    if header is None:
        return False
    tags = parse_etag_list(header)
    return tags is None or any(tag == etag for _weak, tag in tags)


async def calendar_feed(request: Request) -> Response:
    settings = services_of(request).settings
    user_id = await feed_owner(request.path_params["token"])
    if user_id is None:
        return not_found()
    try:
        residence_id = parse_residence(request.query_params.get("residence"))
    except ValueError:
        return not_found()
    data = await load_feed(settings, user_id, residence_id)
    if data is None:
        return not_found()
    body = render_feed(data.name, data.tasks, data.residences, data.reminder_hour)
    etag = entity_tag(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="honeydue.ics"'
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def calendar_routes() -> list[BaseRoute]:
    return [Route("/calendar/{token}.ics", calendar_feed, methods=["GET", "HEAD"])]
