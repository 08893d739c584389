"""Documents: the manuals, warranties and receipts of a residence, with their files."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from honeydue.models import Document, DocumentKind, Media, MediaPurpose, ResidenceRole, User
from honeydue.user_errors import UserErrorCode, reject
from resolvers import attachments, idempotency
from resolvers.access import document_for, require_role
from resolvers.ids import as_id
from resolvers.tasks import KEEP
from resolvers.validation import checked_title


def _notes(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > 10_000:
        raise reject(UserErrorCode.INVALID_INPUT, "Notes must be at most 10000 characters.", "notes")
    return value


async def get_document(user: User, document_id: object) -> Document:
    return await document_for(user, document_id, ResidenceRole.VIEWER)


async def create_document(
    user: User, residence_id: object, *, title: str, kind: DocumentKind = DocumentKind.OTHER,
    notes: str | None = None, expires_at: date | None = None, file_ids: list[uuid.UUID] | None = None,
    idempotency_key: str | None = None,
) -> Document:
    """A new document (EDITOR) with the given READY files, uploaded by the caller for this residence.

    With an ``idempotency_key`` a repeat returns the document the first request created.
    """
    request = idempotency.request(user, idempotency_key, "createDocument", dict(
        residence_id=residence_id, title=title, kind=kind, notes=notes, expires_at=expires_at,
        file_ids=[str(f) for f in file_ids or []]))

    async def create() -> Document:
        rid = as_id(residence_id)
        await require_role(user, rid, ResidenceRole.EDITOR)
        values: dict[str, Any] = dict(title=checked_title(title), notes=_notes(notes))
        files = await attachments.check_attachable(user, file_ids or [], MediaPurpose.DOCUMENT_FILE, rid,
                                                   "fileIds")
        async with idempotency.claimed(request) as document_id:
            document = await Document.create(id=document_id, residence_id=rid, kind=kind, expires_at=expires_at,
                                             created_by=user, **values)
            await attachments.set_document_files(files, document.id, "fileIds")
        return document

    replay = idempotency.replay_existing(
        Document, lambda document_id: document_for(user, document_id, ResidenceRole.VIEWER))

    return await idempotency.once(request, create, replay)


async def update_document(
    user: User, document_id: object, *, title: Any = KEEP, kind: Any = KEEP, notes: Any = KEEP,
    expires_at: Any = KEEP, file_ids: Any = KEEP,
) -> Document:
    """Change what the client sent (EDITOR); ``fileIds``, when sent, is the document's whole new file list."""
    document = await document_for(user, document_id, ResidenceRole.EDITOR)
    if title is not KEEP:
        document.title = checked_title(title)
    if notes is not KEEP:
        document.notes = _notes(notes)
    if kind is not KEEP and kind is not None:
        document.kind = kind
    if expires_at is not KEEP:
        document.expires_at = expires_at
    files = None
    if file_ids is not KEEP:
        files = await attachments.check_attachable(
            user, file_ids or [], MediaPurpose.DOCUMENT_FILE, document.residence_id,
            "fileIds", document_id=document.id,
        )
    async with in_transaction():
        await document.save()
        if files is not None:
            await attachments.set_document_files(files, document.id, "fileIds")
    return document


async def delete_document(user: User, document_id: object) -> Document:
    """Delete a document (EDITOR); its files are discarded with it."""
    document = await document_for(user, document_id, ResidenceRole.EDITOR)
    async with in_transaction():
        await attachments.discard(Media.filter(document_id=document.id), "Deleted with its document.")
        await document.delete()
    return document
