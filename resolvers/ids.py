"""IDs from the client: one rule for a malformed one.

Every ID the API hands out is a UUID. A malformed ID (anything that is not a UUID) names no object, and is
answered exactly as a well-formed ID of an object that does not exist, or that the caller may not see:

* the object an operation is about (``task(id:)``, ``input.taskId``, ``input.residenceId``): ``as_id``,
  the top-level ``NOT_FOUND`` error;
* an ID in an input that points at another object (``avatarId``, ``userId``, ``assigneeId``, a filter's
  ``assigneeId``): ``reference_id`` reads it as the nil UUID, which no row has (rows get random UUIDs), so
  the lookup that follows gives whatever that field gives for a missing object;
* an ID inside an input list (``fileIds``, ``photoIds``, ``ids``): ``id_list``, a ``userErrors`` entry on the
  list's field at the ID's index (``["fileIds", "2"]``), with the code that list gives an unknown ID.

Callers check who is asking before they read any ID, so an anonymous caller is UNAUTHENTICATED whatever its
IDs look like (``schema.mutation``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from honeydue.errors import NotFound
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers.validation import check_length

NO_OBJECT = uuid.UUID(int=0)  # the nil UUID: never given to a row, so it finds nothing


def _parse(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def as_id(value: object) -> uuid.UUID:
    """The ID of the object an operation is about; NOT_FOUND, as for a missing object, when malformed."""
    parsed = _parse(value)
    if parsed is None:
        raise NotFound()
    return parsed


def reference_id(value: object) -> uuid.UUID:
    """An ID an input points at; a malformed one is ``NO_OBJECT``, so looking it up finds nothing."""
    return _parse(value) or NO_OBJECT


def id_list(
    values: Sequence[object], field: str, *, limit: int, code: UserErrorCode = UserErrorCode.NOT_FOUND,
    message: str = "No such object.",
) -> list[uuid.UUID]:
    """The IDs of an input list, duplicates dropped (first order kept).

    More than ``limit`` entries is one INVALID_INPUT error on ``field``, checked before anything else; each
    malformed entry is a ``code`` error at ``[field, index]``. Linear in the list: the cap keeps the lookup
    that follows (one query for all the IDs) small.
    """
    check_length(values, limit, field)
    parsed: dict[uuid.UUID, None] = {}
    errors: list[UserError] = []
    for index, value in enumerate(values):
        entry = _parse(value)
        if entry is None:
            errors.append(UserError(code, message, [field, str(index)]))
        else:
            parsed.setdefault(entry)
    if errors:
        raise InputRejected(*errors)
    return list(parsed)
