"""GraphQL types every area uses: UserError, connections, dates."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Generic, TypeVar

import strawberry

from honeydue.user_errors import UserError as UserErrorData
from honeydue.user_errors import UserErrorCode as _UserErrorCode

UserErrorCode = strawberry.enum(_UserErrorCode, name="UserErrorCode")

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_OFFSET = 10**9


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


def user_errors(errors: Sequence[UserErrorData]) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=e.code) for e in errors]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset after ``cursor``; a malformed cursor starts from the beginning."""
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        return 0
    if kind != "o" or offset < 0:
        return 0
    # Past any real list, and small enough for every database's integer type (a forged huge cursor
    # must give an empty page, not an overflow).
    return min(offset, MAX_OFFSET) + 1


def page_bounds(first: int | None, after: str | None) -> tuple[int, int]:
    """(offset, limit) for a connection query, with API.md's default and maximum."""
    limit = DEFAULT_PAGE if first is None else max(0, min(first, MAX_PAGE))
    return decode_cursor(after), limit


def make_connection(nodes: Sequence[T], offset: int, total: int) -> Connection[T]:
    edges = [Edge(cursor=encode_cursor(offset + i), node=node) for i, node in enumerate(nodes)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(nodes) < total, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=total,
    )
