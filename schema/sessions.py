"""Sessions in GraphQL: ``User.sessions`` and the mutations that end sessions."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.errors import Forbidden
from resolvers import sessions
from resolvers.ids import as_id
from schema import loaders
from schema.common import from_columns
from schema.context import Context
from schema.mutation import OkResult, mutation


@strawberry.type(description="A signed-in device or client: one bearer token, from `register` or `login` until "
                             "it is revoked or expires.")
class Session:
    id: strawberry.ID = strawberry.field(description="The session's ID, as `revokeSession` takes it.")
    created_at: datetime = strawberry.field(description="When the session began (the sign-in).")
    last_used_at: datetime | None = strawberry.field(
        description="When the session's token was last used, to the minute: it is recorded at most once a "
                    "minute, so it may lag by up to 60 seconds."
    )
    user_agent: str | None = strawberry.field(
        description="The User-Agent sent at sign-in, control characters removed, at most 255 characters; null "
                    "when none was sent."
    )
    ip_address: str | None = strawberry.field(
        description="The client's IP address at sign-in (as the API's proxy settings derive it); null when "
                    "unknown."
    )
    current: bool = strawberry.field(description="True for the session whose token made this request.")

    @classmethod
    def from_row(cls, row: models.AuthToken, current_id: object) -> Session:
        return from_columns(cls, row, current=row.id == current_id)


async def sessions_of(ctx: Context, user: models.User) -> list[Session]:
    """A user's live sessions, newest first, at most ``MAX_SESSIONS_LISTED``; only the user or an admin."""
    viewer = ctx.require_user()
    if viewer.id != user.id and not viewer.is_admin:
        raise Forbidden("Only the user can see their sessions.")
    rows = await loaders.load_live_sessions(ctx, user.id, sessions.MAX_SESSIONS_LISTED)
    return [Session.from_row(row, ctx.session_id) for row in rows]


@strawberry.input(description="Which of your sessions to end.")
class RevokeSessionInput:
    session_id: strawberry.ID = strawberry.field(
        description="A `Session.id` of one of your live sessions; any other ID (another user's session, an "
                    "ended one, a malformed one) answers NOT_FOUND."
    )


@strawberry.type
class RevokeOtherSessionsResult:
    revoked_count: int | None = strawberry.field(
        default=None, description="How many sessions were ended (0 when this was the only one)."
    )


@strawberry.type
class SessionMutation:
    @mutation("Ends one of your sessions: its token is refused from then on (the media gateway too). "
                          "Ending the current session signs this client out, as `logout` does. NOT_FOUND for any "
                          "ID that is not one of your live sessions.")
    async def revoke_session(self, info: Info[Context, None], input: RevokeSessionInput) -> OkResult:
        ctx = info.context
        await sessions.end_session(ctx.require_user(), as_id(input.session_id))
        return OkResult(ok=True)

    @mutation("Ends every session of yours except the one making this request (sign out everywhere "
                          "else). Answers how many ended.")
    async def revoke_other_sessions(self, info: Info[Context, None]) -> RevokeOtherSessionsResult:
        ctx = info.context
        return RevokeOtherSessionsResult(revoked_count=await sessions.end_other_sessions(ctx.require_user(),
                                                                                         ctx.token))
