"""Attaching uploaded files to the completion or document they were uploaded for.

An upload is requested for a purpose and a target (``requestUpload``); here the finished file is
attached. Only the uploader may attach it, only to the target it was requested for, only once it is
READY, and only where it is not already attached: otherwise a client could pin someone else's file, or
a file still being checked, to its own records.

``check_attachable`` reports every problem up front, outside any transaction; what it saw may change before
the write. So the write itself is guarded: inside the caller's transaction a file is attached only while it
is still READY and unattached (or already where it goes), and a file that lost that race is MEDIA_IN_USE (or
MEDIA_NOT_READY), which rolls the whole operation back. Of two completions racing for one photo, one wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from honeydue.models import Media, MediaPurpose, MediaStatus, User
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers.ids import id_list
from resolvers.validation import MAX_FILES


def file_ids(values: Sequence[object], field: str) -> list[uuid.UUID]:
    """The IDs of a list of files to attach (``fileIds``, ``photoIds``): at most ``MAX_FILES``, duplicates dropped.

    A malformed ID is MEDIA_NOT_ALLOWED at its index, as an unknown one is in ``check_attachable``.
    """
    return id_list(values, field, limit=MAX_FILES, code=UserErrorCode.MEDIA_NOT_ALLOWED,
                   message="That file is not one of your uploads.")


async def check_attachable(
    user: User, media_ids: Sequence[uuid.UUID], purpose: MediaPurpose, target_id: uuid.UUID, field: str,
    *, completion_id: uuid.UUID | None = None, document_id: uuid.UUID | None = None,
) -> list[Media]:
    """The media rows, if every one may be attached to the given target; else every problem as user errors.

    ``completion_id``/``document_id`` name where the files go when that already exists (a document
    being edited), so files already attached there are accepted again.
    """
    rows = {row.id: row for row in await Media.filter(id__in=list(media_ids))}
    errors: list[UserError] = []
    for index, media_id in enumerate(media_ids):
        where = [field, str(index)]
        row = rows.get(media_id)
        if row is None or row.owner_id != user.id:
            # Someone else's file and no file at all look the same: IDs must not be probeable.
            errors.append(UserError(UserErrorCode.MEDIA_NOT_ALLOWED, "That file is not one of your uploads.", where))
        elif row.purpose != purpose or row.target_id != target_id:
            errors.append(UserError(UserErrorCode.MEDIA_NOT_ALLOWED,
                                    "That file was uploaded for something else.", where))
        elif row.status != MediaStatus.READY:
            errors.append(UserError(UserErrorCode.MEDIA_NOT_READY, "That file is not finalized yet.", where))
        elif _attached_elsewhere(row, completion_id, document_id):
            errors.append(UserError(UserErrorCode.MEDIA_IN_USE, "That file is already attached elsewhere.", where))
    if errors:
        raise InputRejected(*errors)
    return [rows[media_id] for media_id in media_ids]


def _attached_elsewhere(row: Media, completion_id: uuid.UUID | None, document_id: uuid.UUID | None) -> bool:
    current_completion = row.completion_id
    current_document = row.document_id
    return (current_completion is not None and current_completion != completion_id) or (
        current_document is not None and current_document != document_id
    )


async def _attach(media: Sequence[Media], field: str, where: Q, **target: uuid.UUID) -> None:
    """Point ``media`` at ``target`` where ``where`` still holds; else every file that lost as a user error.

    Call inside the transaction doing the rest of the work: on PostgreSQL the guarded UPDATE waits for a
    concurrent transaction holding one of these rows and then re-checks the guard against what it committed.
    """
    ids = [m.id for m in media]
    if not ids:
        return
    moved = await Media.filter(Q(id__in=ids), Q(status=MediaStatus.READY), where).update(**target)
    if moved == len(ids):
        return
    (column, value), = target.items()
    now = {row.id: row for row in await Media.filter(id__in=ids)}
    errors: list[UserError] = []
    for index, media_id in enumerate(ids):
        row = now.get(media_id)
        if row is not None and getattr(row, column) == value:
            continue
        if row is None or row.status != MediaStatus.READY:
            errors.append(UserError(UserErrorCode.MEDIA_NOT_READY, "That file is no longer available.",
                                    [field, str(index)]))
        else:
            errors.append(UserError(UserErrorCode.MEDIA_IN_USE, "That file is already attached elsewhere.",
                                    [field, str(index)]))
    raise InputRejected(*errors)


async def attach_to_completion(media: Sequence[Media], completion_id: uuid.UUID, field: str) -> None:
    """Attach ``media`` to a new completion, each only while it is still unattached."""
    await _attach(media, field, Q(completion_id=None, document_id=None), completion_id=completion_id)


async def set_document_files(media: Sequence[Media], document_id: uuid.UUID, field: str) -> None:
    """Make ``media`` exactly the document's files; files dropped from the list are discarded.

    Each file is attached only while it is unattached or already this document's.
    """
    keep = [m.id for m in media]
    await discard(Media.filter(document_id=document_id).exclude(id__in=keep), "Removed from its document.")
    unattached_or_ours = Q(Q(document_id=None), Q(document_id=document_id), join_type="OR") & Q(completion_id=None)
    await _attach(media, field, unattached_or_ours, document_id=document_id)


async def discard(files: QuerySet[Media], reason: str) -> int:
    """Retire files whose completion, document, task or residence is going away.

    They become REJECTED and detached: nothing serves them from now on, and the periodic upload cleanup
    (``workers.cleanup``), which deletes old REJECTED media object first and row after, removes them from
    the bucket on its next run. Deleting the rows here instead would leave objects only the reconcile job
    could find.
    """
    return await files.update(status=MediaStatus.REJECTED, reject_reason=reason, completion_id=None,
                              document_id=None)
