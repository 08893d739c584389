"""GraphQL types every area uses: UserError, connections, dates; and the helpers that describe them."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, Generic, Self, TypeVar, cast

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

from honeydue.user_errors import UserError as UserErrorData
from honeydue.user_errors import UserErrorCode as _UserErrorCode

E = TypeVar("E", bound=Enum)

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


def described_enum(python_enum: type[E], *, name: str, description: str, values: Mapping[E, str]) -> type[E]:
    """``python_enum`` as the GraphQL enum ``name``, each value described by ``values``.

    The Python enum stays the one list of members (the database and the resolvers use it); the schema only
    adds what each member means to a client. ``values`` must describe every member and nothing else: a
    member added without a description stops the schema from building, naming the member.
    """
    members = {member.value for member in python_enum}
    missing = [member.name for member in python_enum if member not in values]
    # Keys match by value, so a GraphQL enum made of some members of a model enum (UploadPurpose) is
    # described with the model enum's members.
    unknown = [str(key) for key in values if getattr(key, "value", key) not in members]
    if missing or unknown:
        raise TypeError(f"GraphQL enum {name}: describe every member of {python_enum.__qualname__} "
                        f"(missing: {missing or 'none'}; not members: {unknown or 'none'})")
    strawberry.enum(python_enum, name=name, description=description)
    definition = cast(StrawberryEnumDefinition, python_enum.__strawberry_definition__)  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = values[python_enum(value.value)]
    return python_enum


UserErrorCode = described_enum(
    _UserErrorCode,
    name="UserErrorCode",
    description="Why a mutation refused its input. Stable: clients may branch on it; `message` is for people.",
    values={
        _UserErrorCode.INVALID_INPUT: "A value breaks a documented rule (length, range, format, a list over its "
                                      "cap, a control character); `message` says which.",
        _UserErrorCode.INVALID_EMAIL: "Not an email address of the form name@domain.tld, or longer than 254 "
                                      "characters (register, requestPasswordReset, requestEmailChange).",
        _UserErrorCode.EMAIL_TAKEN: "An account with this email already exists (register, requestEmailChange), or "
                                    "took the new address before it was confirmed (confirmEmailChange).",
        _UserErrorCode.WEAK_PASSWORD: "The new password breaks the password rules: 10 to 256 characters, at least "
                                      "4 different ones, not the email address (register, changePassword, "
                                      "resetPassword).",
        _UserErrorCode.INVALID_CREDENTIALS: "The email or the password is wrong; which one is not said (login).",
        _UserErrorCode.WRONG_PASSWORD: "The password given to confirm the change is not the account's "
                                       "(changePassword, deleteAccount, requestEmailChange).",
        _UserErrorCode.NOT_FOUND: "An ID in the input names nothing the caller can see: removeMember's userId "
                                  "(not a member), a malformed entry of markNotificationsRead's ids; or what the "
                                  "first request with this idempotencyKey made has since been deleted.",
        _UserErrorCode.FORBIDDEN: "Reserved. A caller whose role is too low gets the top-level FORBIDDEN "
                                  "error instead, so no mutation reports this code today.",
        _UserErrorCode.INVALID_TIMEZONE: "Not an IANA timezone name such as Europe/Paris (createResidence, "
                                         "updateResidence).",
        _UserErrorCode.INVALID_SCHEDULE: "A CUSTOM frequency without intervalDays from 1 to 36600, or a schedule "
                                         "whose next due date would be past the year 9999 (createTask, "
                                         "updateTask, completeTask).",
        _UserErrorCode.INVALID_CODE: "The share code is unknown, expired or revoked; which one is not said "
                                     "(joinResidence).",
        _UserErrorCode.ALREADY_MEMBER: "The caller already belongs to the residence of this share code "
                                       "(joinResidence).",
        _UserErrorCode.LAST_OWNER: "The last OWNER cannot leave or be removed; delete the residence instead "
                                   "(removeMember).",
        _UserErrorCode.DATE_IN_FUTURE: "completedAt is more than a day later than now (completeTask).",
        _UserErrorCode.MEDIA_NOT_READY: "The file is not READY yet: call finalizeUpload after the PUT "
                                        "(updateProfile, completeTask, createDocument, updateDocument).",
        _UserErrorCode.MEDIA_NOT_ALLOWED: "The file is not one of the caller's uploads, or was uploaded for "
                                          "another purpose or target (malformed IDs answer the same).",
        _UserErrorCode.MEDIA_IN_USE: "The file is already attached elsewhere (completeTask, createDocument, "
                                     "updateDocument), or is still attached and detach was not set (deleteMedia).",
        _UserErrorCode.TYPE_NOT_ALLOWED: "The declared content type is not accepted for this purpose; `message` "
                                         "lists the accepted ones (requestUpload).",
        _UserErrorCode.FILE_TOO_LARGE: "The declared size is over the server's file size limit, 10 MiB unless "
                                       "configured (requestUpload).",
        _UserErrorCode.UPLOAD_RATE_LIMITED: "Too many requestUpload calls in the last hour (50 unless "
                                            "configured); every call counts, refused ones too.",
        _UserErrorCode.TOO_MANY_PENDING_UPLOADS: "Too many of the caller's uploads are still PENDING (10 unless "
                                                 "configured); finalize or delete some first (requestUpload).",
        _UserErrorCode.UPLOAD_MISSING: "Nothing was PUT to the upload URL yet (finalizeUpload).",
        _UserErrorCode.IDEMPOTENCY_KEY_REUSED: "This idempotencyKey was used in the last 24 hours for a different "
                                               "input or another mutation; nothing was done (any mutation "
                                               "whose input takes an idempotencyKey).",
        _UserErrorCode.EXPORT_LIMIT: "A data export is already being prepared, or one was requested in the last "
                                     "24 hours (failed ones do not count); `message` says when to ask again "
                                     "(requestDataExport).",
        _UserErrorCode.STORAGE_UNAVAILABLE: "File storage did not answer; nothing was changed, retry shortly "
                                            "(requestUpload, finalizeUpload, deleteMedia).",
        _UserErrorCode.INVALID_TOKEN: "The emailed link's token is unknown, expired, already used, or replaced by a "
                                      "newer link; ask for a new email (resetPassword, verifyEmail, "
                                      "confirmEmailChange).",
        _UserErrorCode.ACCOUNT_DISABLED: "The password is right but an administrator disabled the account "
                                         "(login; said only for the right password).",
        _UserErrorCode.LAST_ADMIN: "The change would leave no admin who can sign in: the last admin cannot be "
                                   "demoted, disabled or deleted (adminSetAdmin, adminSetUserDisabled, "
                                   "adminDeleteUser).",
        _UserErrorCode.UNKNOWN_JOB: "No periodic job has this name; `admin.jobs` lists them (adminRunJob).",
    },
)

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
