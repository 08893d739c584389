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
from schema.context import Context
from schema.media import Media
from schema.mutation import mutation
from schema.tasks import sent_fields

if TYPE_CHECKING:
    from schema.residences import Residence

DocumentKind = strawberry.enum(models.DocumentKind, name="DocumentKind")


@strawberry.type
class Document:
    id: strawberry.ID
    title: str
    notes: str
    kind: DocumentKind  # type: ignore[valid-type]
    expires_at: date | None = strawberry.field(description="When it lapses (warranties); reminders count to it.")
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.Document]

    @classmethod
    def from_row(cls, row: models.Document) -> Document:
        return cls(id=strawberry.ID(str(row.id)), title=row.title, notes=row.notes, kind=row.kind,
                   expires_at=row.expires_at, created_at=row.created_at, updated_at=row.updated_at, _row=row)

    @strawberry.field
    async def residence(
        self, info: Info[Context, None]
    ) -> Annotated[Residence, strawberry.lazy("schema.residences")]:
        from schema.residences import Residence

        row = await loaders.load_residence(info.context, self._row.residence_id)
        assert row is not None  # the document cascades with its residence
        return Residence.from_row(row)

    @strawberry.field(description="The READY files attached to this document.")
    async def files(self, info: Info[Context, None]) -> list[Media]:
        return [Media.from_row(m) for m in await loaders.load_document_files(info.context, self._row.id)]


@strawberry.input
class CreateDocumentInput:
    residence_id: strawberry.ID
    title: str
    kind: DocumentKind = models.DocumentKind.OTHER  # type: ignore[valid-type]
    notes: str | None = None
    expires_at: date | None = None
    file_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=f"READY files uploaded for this residence; at most {MAX_FILES}.")


@strawberry.input(description="Only the fields sent change; fileIds, when sent, is the whole new list of files.")
class UpdateDocumentInput:
    document_id: strawberry.ID
    title: str | None = strawberry.UNSET
    kind: DocumentKind | None = strawberry.UNSET  # type: ignore[valid-type]
    notes: str | None = strawberry.UNSET
    expires_at: date | None = strawberry.UNSET
    file_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description=f"The document's whole new list of files; at most {MAX_FILES}.")


@strawberry.input
class DeleteDocumentInput:
    document_id: strawberry.ID


@strawberry.type
class DocumentResult:
    document: Document | None = None


@strawberry.type
class DeletedDocumentResult:
    document: Document | None = None
    deleted_id: strawberry.ID | None = None


@strawberry.type
class DocumentQuery:
    @strawberry.field
    async def document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_row(await documents.get_document(info.context.require_user(), id))


@strawberry.type
class DocumentMutation:
    @mutation()
    async def create_document(self, info: Info[Context, None], input: CreateDocumentInput) -> DocumentResult:
        row = await documents.create_document(
            info.context.require_user(), input.residence_id, title=input.title, kind=input.kind, notes=input.notes,
            expires_at=input.expires_at, file_ids=file_ids(input.file_ids, "fileIds"),
        )
        return DocumentResult(document=Document.from_row(row))

    @mutation()
    async def update_document(self, info: Info[Context, None], input: UpdateDocumentInput) -> DocumentResult:
        changes = sent_fields(input, "document_id")
        if "file_ids" in changes:
            changes["file_ids"] = file_ids(input.file_ids or [], "fileIds")
        row = await documents.update_document(info.context.require_user(), input.document_id, **changes)
        return DocumentResult(document=Document.from_row(row))

    @mutation()
    async def delete_document(self, info: Info[Context, None], input: DeleteDocumentInput) -> DeletedDocumentResult:
        row = await documents.delete_document(info.context.require_user(), input.document_id)
        return DeletedDocumentResult(document=Document.from_row(row), deleted_id=strawberry.ID(str(row.id)))
