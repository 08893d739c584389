"""Sessions: a user's live bearer tokens, and ending them (``revokeSession``, ``revokeOtherSessions``)."""

from __future__ import annotations

import uuid

from honeydue.errors import NotFound
from honeydue.models import User
from honeydue.tokens import revoke_all_tokens, revoke_session

# ``User.sessions`` shows the newest this many live sessions; a user signed in on more devices than that
# sees the most recent ones (each login is a session, so a script could make thousands).
MAX_SESSIONS_LISTED = 100


async def end_session(user: User, session_id: uuid.UUID) -> None:
    """End one of the caller's live sessions; anyone else's, an ended one, or an unknown id is NOT_FOUND."""
    if not await revoke_session(user.id, session_id):
        raise NotFound("No such session.")


async def end_other_sessions(user: User, current_token: str | None) -> int:
    """End every live session of the caller but the one making the request; how many ended."""
    return await revoke_all_tokens(user.id, except_raw=current_token)
