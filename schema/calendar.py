"""The calendar feed in GraphQL: ``rotateCalendarFeed`` (``User.calendarFeedUrl`` is on the User type)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import calendar
from schema.context import Context
from schema.mutation import mutation

FEED_URL_DESCRIPTION = (
    "The secret address of your calendar feed (`{PUBLIC_APP_URL}/calendar/<token>.ics`, RFC 5545 "
    "`text/calendar`): subscribe to it in a calendar app to see every open task of your residences as an "
    "all-day event on its due date, recurring for fixed schedules, with an alarm at your due-soon hour on the "
    "day before. Add `?residence=<ID>` for one residence. Anyone holding the URL can read the feed, so it is "
    "shown only to you (anyone else, admins included, gets FORBIDDEN); `rotateCalendarFeed` replaces it. Made on "
    "the first read."
)


@strawberry.type
class CalendarFeedResult:
    url: str | None = strawberry.field(
        default=None, description="The new feed URL (`{PUBLIC_APP_URL}/calendar/<token>.ics`); the previous one "
                                  "now answers 404.")


@strawberry.type
class CalendarMutation:
    @mutation("Gives your calendar feed a new secret URL and kills the old one, which answers 404 from now on "
              "(calendar apps subscribed to it stop updating). Use it when the URL may have leaked.")
    async def rotate_calendar_feed(self, info: Info[Context, None]) -> CalendarFeedResult:
        ctx = info.context
        return CalendarFeedResult(url=await calendar.rotate(ctx.settings, ctx.require_user()))
