"""Documents in GraphQL: the Document type, ``document(id)`` and the document mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from resolvers import documents
from resolvers.attachments import file_ids
from resolvers.validation import MAX_FILES
from schema import loaders
from schema.common import IDEMPOTENCY_KEY_DESCRIPTION, FromRow
from schema.context import Context
from schema.enums import DocumentKind
from schema.media import Media
from schema.mutation import mutation
from schema.residence_field import residence_field
from schema.tasks import sent_fields

if TYPE_CHECKING:
    pass

TITLE = "1 to 200 characters after trimming; else INVALID_INPUT."
NOTES = "Free text, at most 10000 characters; else INVALID_INPUT."
FILE_ERRORS = "Each wrong one is a user error at its index: MEDIA_NOT_ALLOWED, MEDIA_NOT_READY or MEDIA_IN_USE."
EXPIRES_AT = "When it lapses (warranties); the residence's owners are reminded 30 and 7 days before."


@strawberry.type(description="A paper of a residence (manual, warranty, receipt, ...) with its files.")
class Document(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    title: str = strawberry.field(description="1 to 200 characters.")
    notes: str = strawberry.field(description="Free text, at most 10000 characters; empty when not given.")
    kind: DocumentKind = strawberry.field(description="What sort of paper it is.")  # type: ignore[valid-type]
    expires_at: date | None = strawberry.field(description=EXPIRES_AT + " Null when it does not lapse.")
    created_at: datetime = strawberry.field(description="When the document was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    _row: strawberry.Private[models.Document]

    residence = residence_field("The residence the document belongs to.")

    @strawberry.field(description="The READY files attached to this document.")
    async def files(self, info: Info[Context, None]) -> list[Media]:
        return [Media.from_row(m) for m in await loaders.load_document_files(info.context, self._row.id)]


@strawberry.input(description="A new document.")
class CreateDocumentInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence, where the caller is an EDITOR.")
    title: str = strawberry.field(description=TITLE)
    kind: DocumentKind = strawberry.field(  # type: ignore[valid-type]
        default=models.DocumentKind.OTHER, description="What sort of paper it is.")
    notes: str | None = strawberry.field(default=None, description=NOTES)
    expires_at: date | None = strawberry.field(default=None, description=EXPIRES_AT)
    file_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=f"READY files the caller uploaded for this residence (DOCUMENT_FILE); at "
                                          f"most {MAX_FILES}. {FILE_ERRORS}")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="Only the fields sent change; fileIds, when sent, is the whole new list of files.")
class UpdateDocumentInput:
    document_id: strawberry.ID = strawberry.field(description="The document, in a residence where the caller is an "
                                                              "EDITOR.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description=TITLE)
    kind: DocumentKind | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="What sort of paper it is; null keeps it.")
    notes: str | None = strawberry.field(default=strawberry.UNSET, description=NOTES)
    expires_at: date | None = strawberry.field(default=strawberry.UNSET, description=EXPIRES_AT + " Null clears it.")
    file_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description=f"The document's whole new list of files, at most {MAX_FILES}: files "
                                              f"left out are retired. {FILE_ERRORS}")


@strawberry.input(description="The document to delete.")
class DeleteDocumentInput:
    document_id: strawberry.ID = strawberry.field(description="The document, in a residence where the caller is an "
                                                              "EDITOR.")


@strawberry.type
class DocumentResult:
    document: Document | None = strawberry.field(default=None, description="The document as saved.")


@strawberry.type
class DeletedDocumentResult:
    document: Document | None = strawberry.field(default=None, description="The document as it was; its own fields "
                                                                           "only.")
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted document.")


@strawberry.type
class DocumentQuery:
    @strawberry.field(description="One document of the caller's residences. NOT_FOUND when it does not exist or "
                                  "the caller is not a member of its residence.")
    async def document(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Document:
        return Document.from_row(await documents.get_document(info.context.require_user(), id))


@strawberry.type
class DocumentMutation:
    @mutation("Creates a document with its files. EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def create_document(self, info: Info[Context, None], input: CreateDocumentInput) -> DocumentResult:
        row = await documents.create_document(
            info.context.require_user(), input.residence_id, title=input.title, kind=input.kind, notes=input.notes,
            expires_at=input.expires_at, file_ids=file_ids(input.file_ids, "fileIds"),
            idempotency_key=input.idempotency_key,
        )
        return DocumentResult(document=Document.from_row(row))

    @mutation("Changes a document. EDITOR: FORBIDDEN for viewers, NOT_FOUND for non-members.")
    async def update_document(self, info: Info[Context, None], input: UpdateDocumentInput) -> DocumentResult:
        changes = sent_fields(input, "document_id")
        if "file_ids" in changes:
            changes["file_ids"] = file_ids(input.file_ids or [], "fileIds")
        row = await documents.update_document(info.context.require_user(), input.document_id, **changes)
        return DocumentResult(document=Document.from_row(row))

    @mutation("Deletes a document; its files are retired. EDITOR: FORBIDDEN for viewers, NOT_FOUND for "
              "non-members.")
    async def delete_document(self, info: Info[Context, None], input: DeleteDocumentInput) -> DeletedDocumentResult:
        row = await documents.delete_document(info.context.require_user(), input.document_id)
        return DeletedDocumentResult(document=Document.from_row(row), deleted_id=strawberry.ID(str(row.id)))
