"""Errors that become top-level GraphQL errors with ``extensions.code``.

Resolvers raise these for conditions API.md lists (UNAUTHENTICATED, FORBIDDEN,
NOT_FOUND, RATE_LIMITED); anything else that escapes a resolver is a bug and
is masked as INTERNAL by ``schema.errors.ErrorCodes``.
"""

from __future__ import annotations


class ApiError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    default_message = "Internal error."


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"
    default_message = "Authentication required."


class Forbidden(ApiError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(ApiError):
    code = "NOT_FOUND"
    default_message = "Not found."


class RateLimited(ApiError):
    code = "RATE_LIMITED"
    default_message = "Too many requests; try again later."


class InvalidInput(ApiError):
    """A query argument that breaks a documented rule (a list over its cap); mutations answer userErrors."""

    code = "INVALID_INPUT"
    default_message = "Invalid input."
