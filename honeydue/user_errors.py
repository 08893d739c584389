"""User errors: bad input reported in a payload's ``userErrors``, never raised to the client."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class UserErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"
    INVALID_SCHEDULE = "INVALID_SCHEDULE"
    INVALID_CODE = "INVALID_CODE"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_OWNER = "LAST_OWNER"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    MEDIA_NOT_READY = "MEDIA_NOT_READY"
    MEDIA_NOT_ALLOWED = "MEDIA_NOT_ALLOWED"
    MEDIA_IN_USE = "MEDIA_IN_USE"
    TYPE_NOT_ALLOWED = "TYPE_NOT_ALLOWED"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UPLOAD_RATE_LIMITED = "UPLOAD_RATE_LIMITED"
    TOO_MANY_PENDING_UPLOADS = "TOO_MANY_PENDING_UPLOADS"
    UPLOAD_MISSING = "UPLOAD_MISSING"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    EXPORT_LIMIT = "EXPORT_LIMIT"
    INVALID_TOKEN = "INVALID_TOKEN"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    LAST_ADMIN = "LAST_ADMIN"
    UNKNOWN_JOB = "UNKNOWN_JOB"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class UserError:
    code: UserErrorCode
    message: str
    field: list[str] | None = None


class InputRejected(Exception):
    """Raised inside a resolver to abandon the operation with user errors (nothing is written)."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def reject(code: UserErrorCode, message: str, *field: str) -> InputRejected:
    return InputRejected(UserError(code, message, list(field) or None))


@dataclass(frozen=True)
class Rejection:
    """What an operation that raised InputRejected answers instead of its result."""

    errors: list[UserError]


async def attempt(work: Awaitable[T]) -> T | Rejection:
    """``work``'s result, or the user errors it was rejected with.

    The one place InputRejected is caught: the GraphQL mutations (``schema.mutation``) and the CLI read the
    rejection from here, so no caller can turn it into something other than user errors.
    """
    try:
        return await work
    except InputRejected as rejected:
        return Rejection(rejected.errors)
