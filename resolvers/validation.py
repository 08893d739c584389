"""Input rules shared by several resolvers, so the same field is refused the same way everywhere."""

from __future__ import annotations

from collections.abc import Sized

from honeydue.errors import InvalidInput
from honeydue.user_errors import UserErrorCode, reject

MAX_TITLE_LENGTH = 200

# Every list the API accepts is capped, and the cap is checked before any work on the list (docs/api.md,
# "Limits"): without one, 10,000 unknown IDs tied the server up for seconds.
MAX_FILES = 20  # files per document, photos per completion
MAX_NOTIFICATION_IDS = 100  # markNotificationsRead
MAX_BULK_TASKS = 50  # createTasks.tasks: one transaction, so kept short
MAX_LIST = 100  # any other list
# The longest list any argument accepts. A request's variables are cut to one entry more than this before
# GraphQL coerces them (schema.view): a longer list is refused by its cap anyway, and coercing 10,000
# IDs only to refuse them cost ten times a small query.
LONGEST_LIST = max(MAX_FILES, MAX_NOTIFICATION_IDS, MAX_BULK_TASKS, MAX_LIST)


def checked_title(value: str | None) -> str:
    """``value`` stripped; INVALID_INPUT on ``title`` when that leaves nothing or more than 200 characters."""
    value = (value or "").strip()
    if not value or len(value) > MAX_TITLE_LENGTH:
        raise reject(UserErrorCode.INVALID_INPUT, f"Title must be 1 to {MAX_TITLE_LENGTH} characters.", "title")
    return value


def _too_long_message(field: str, limit: int) -> str:
    return f"{field} may hold at most {limit} entries."


def check_length(values: Sized, limit: int, field: str) -> None:
    """One INVALID_INPUT user error on ``field`` when an input list holds more than ``limit`` entries."""
    if len(values) > limit:
        raise reject(UserErrorCode.INVALID_INPUT, _too_long_message(field, limit), field)


def check_argument_length(values: Sized | None, limit: int, field: str) -> None:
    """The same cap for a query's argument, which has no payload: a top-level INVALID_INPUT error."""
    if values is not None and len(values) > limit:
        raise InvalidInput(_too_long_message(field, limit))
