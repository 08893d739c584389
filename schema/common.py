"""GraphQL types every area uses: UserError, connections, dates; and the helpers that describe them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Annotated, Any, Generic, Self, TypeVar

import strawberry
from strawberry.types.base import get_object_definition

from honeydue.user_errors import UserError as UserErrorData
from schema.enums import UserErrorCode

IDEMPOTENCY_KEY_DESCRIPTION = (
    "Client-generated, 1 to 64 characters (a UUID will do). A repeat with the same key by the same user within "
    "24 hours returns the first result and does nothing else; the same key with different input, or for another "
    "mutation, is IDEMPOTENCY_KEY_REUSED. A first request refused with user errors leaves the key free."
)
T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_OFFSET = 10**9


def _column_fields(cls: type) -> tuple[str, ...]:
    """The fields of GraphQL type ``cls`` that are plain values (not resolvers, not private)."""
    fields = get_object_definition(cls, strict=True).fields
    return tuple(f.python_name for f in fields if f.base_resolver is None and not f.python_name.startswith("_"))


def from_columns(cls: type[T], row: object, **computed: object) -> T:
    """An instance of GraphQL type ``cls`` for a database row: ``id`` is the row's id as an opaque ID, every
    other plain field the row's column of the same name unless given in ``computed``, and a private ``_row``
    keeps the row for the field resolvers."""
    values: dict[str, object] = {
        name: getattr(row, name) for name in _column_fields(cls) if name != "id" and name not in computed
    }
    values["id"] = strawberry.ID(str(row.id))  # type: ignore[attr-defined]
    if "_row" in cls.__dataclass_fields__:  # type: ignore[attr-defined]
        values["_row"] = row
    return cls(**values, **computed)


class FromRow:
    """Base of a GraphQL type that shows one database row, each plain field the column of the same name."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return from_columns(cls, row)





FIRST_DESCRIPTION = (f"Page size: default {DEFAULT_PAGE}, at most {MAX_PAGE} (more is read as {MAX_PAGE}, less than 0 "
                     "as 0).")
AFTER_DESCRIPTION = ("The page starts after the edge with this cursor (`endCursor` of the page before); omitted, "
                     "it starts at the beginning. A cursor this list did not give out starts at the beginning.")
# Every connection field's paging arguments: `first: Int = null, after: String = null`, described once.
First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


@strawberry.type(description="Why a mutation refused its input. When a payload's `userErrors` is not empty, the "
                             "mutation changed nothing and its other fields are empty.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, from inside `input` (e.g. [\"title\"], or "
                    "[\"fileIds\", \"2\"] for the third entry of a list); null when no one field is at fault.")
    message: str = strawberry.field(description="What is wrong, in English, for a person to read.")
    code: UserErrorCode = strawberry.field(  # type: ignore[valid-type]
        description="What is wrong, for a program to branch on.")


def user_errors(errors: Sequence[UserErrorData]) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=e.code) for e in errors]


@strawberry.type(description="Where a page of a connection lies in the whole list (Relay's PageInfo). Cursors are "
                             "opaque strings: pass `endCursor` as `after` to get the next page.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more edges follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether edges come before this page: true for every page but the first (an `after` given).")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge of this page; null when the "
                                                            "page is empty.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge of this page, the `after` of the "
                                                          "next page; null when the page is empty.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this edge: pass it as `after` to get the edges "
                                               "that follow.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, in the list's documented order (Relay's Connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page: at most `first` edges.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether pages come before and after this one.")
    total_count: int = strawberry.field(description="How many items the whole list has, over every page.")


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
    """The page of ``nodes`` that starts at ``offset`` of a list of ``total`` items."""
    edges = [Edge(cursor=encode_cursor(offset + i), node=node) for i, node in enumerate(nodes)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(nodes) < total,
            # Offset cursors: any page that does not start at the first item has items before it.
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
