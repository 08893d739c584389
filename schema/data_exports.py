"""Data exports in GraphQL: the DataExport type, ``User.dataExports`` and ``requestDataExport``."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.clock import utc_now
from honeydue.data_exports import download_url, export_key
from honeydue.errors import Forbidden
from resolvers import data_exports
from schema.context import Context
from schema.enums import DataExportStatus
from schema.mutation import mutation


@strawberry.type(description="A copy of everything the user has in honeydue (GDPR right of access): a zip holding "
                             "data.json (profile, residences, tasks, completions, documents, contractors, "
                             "notifications and preferences, in the versioned format of docs/data-export.md) and "
                             "the user's own files under files/. Only the user sees their exports.")
class DataExport:
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    status: DataExportStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where the export is.")
    created_at: datetime = strawberry.field(description="When it was requested.")
    expires_at: datetime | None = strawberry.field(
        description="When the zip is deleted and `url` stops working: 7 days after it became READY (rounded up to "
                    "the hour); null until READY.")
    size_bytes: float | None = strawberry.field(
        description="Size of the zip in bytes (a Float: it outgrows Int); null until READY.")
    _row: strawberry.Private[models.DataExport]

    @classmethod
    def from_row(cls, row: models.DataExport) -> DataExport:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            created_at=row.created_at,
            expires_at=row.expires_at if row.status == models.DataExportStatus.READY else None,
            size_bytes=None if row.size_bytes is None else float(row.size_bytes),
            _row=row,
        )

    @strawberry.field(description="Download link of the zip through the media gateway: needs no token, answers 200 "
                                  "(ranges supported) and expires with the export. Null unless READY.")
    def url(self, info: Info[Context, None]) -> str | None:
        row = self._row
        if row.status != models.DataExportStatus.READY or row.expires_at is None:
            return None
        services = info.context.services
        return download_url(services.signing_keys, services.settings.effective_public_gateway_url,
                            export_key(row.user_id, row.id), row.expires_at)


async def exports_of(ctx: Context, user: models.User) -> list[DataExport]:
    """A user's exports; only the user themself may see them (their download links are their data)."""
    viewer = ctx.require_user()
    if viewer.id != user.id:
        raise Forbidden("Only the user can see their data exports.")
    return [DataExport.from_row(row) for row in await data_exports.list_data_exports(user)]


@strawberry.type
class DataExportResult:
    data_export: DataExport | None = strawberry.field(default=None, description="The new export, PENDING.")


@strawberry.type
class DataExportMutation:
    @mutation("Asks for a copy of all the caller's data (GDPR right of access). A job builds a zip; when it is "
              "READY the caller gets a DATA_EXPORT_READY notification and an email with a download link valid 7 "
              "days, and `User.dataExports` lists it. One export at a time and one a day (failed ones do not "
              "count): EXPORT_LIMIT otherwise.")
    async def request_data_export(self, info: Info[Context, None]) -> DataExportResult:
        export = await data_exports.request_data_export(info.context.require_user(), utc_now())
        return DataExportResult(data_export=DataExport.from_row(export))
