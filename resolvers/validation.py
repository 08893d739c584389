"""Input rules shared by several resolvers, so the same field is refused the same way everywhere."""

from __future__ import annotations

from honeydue.user_errors import UserErrorCode, reject

MAX_TITLE_LENGTH = 200


def checked_title(value: str | None) -> str:
    """``value`` stripped; INVALID_INPUT on ``title`` when that leaves nothing or more than 200 characters."""
    value = (value or "").strip()
    if not value or len(value) > MAX_TITLE_LENGTH:
        raise reject(UserErrorCode.INVALID_INPUT, f"Title must be 1 to {MAX_TITLE_LENGTH} characters.", "title")
    return value
