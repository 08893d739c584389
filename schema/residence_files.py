"""exportResidence and importResidence in GraphQL: a residence to a ``.honeydue`` file and back."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import generated_files, models, residence_file
from honeydue.clock import utc_now
from resolvers import residence_files
from schema.common import IDEMPOTENCY_KEY_DESCRIPTION
from schema.context import Context
from schema.mutation import mutation
from schema.residences import Residence, ResidenceResult

CAPS = (f"at most {residence_file.MAX_TASKS} tasks, {residence_file.MAX_COMPLETIONS} completions, "
        f"{residence_file.MAX_CONTRACTORS} contractors and {residence_file.MAX_DOCUMENTS} documents")


@strawberry.input(description="The residence to export.")
class ExportResidenceInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence; any member may export it (VIEWER "
                                                               "too). NOT_FOUND for anyone else.")


@strawberry.input(description="The residence file to import, uploaded with purpose RESIDENCE_IMPORT and finalized.")
class ImportResidenceInput:
    file_id: strawberry.ID = strawberry.field(
        description="The caller's READY media of purpose RESIDENCE_IMPORT. NOT_FOUND for any other file (or one "
                    "already imported: a file imports once), MEDIA_NOT_READY before its finalizeUpload; "
                    f"INVALID_INPUT naming the place in the file for content this server cannot take ({CAPS}).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type
class ExportResidenceResult:
    url: str | None = strawberry.field(default=None, description="A signed gateway link to the `.honeydue` file "
                                                                 "(application/json, saved as `<residence name>"
                                                                 ".honeydue`); it works at once, needs no sign-in, "
                                                                 "and stops working at `expiresAt`.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the link stops working and the "
                                                                             "file is deleted: 24 hours after the "
                                                                             "export (rounded up to the hour).")


@strawberry.type
class ResidenceFileMutation:
    @mutation("Exports a residence to a `.honeydue` file (JSON, format `honeydue.residence` version 1: the "
              "residence, its profile, contractors, tasks with their completions, and documents without their "
              "files; see docs/residence-file.md), built before it answers. Any member (VIEWER too). NOT_FOUND for "
              "a residence the caller is not a member of; STORAGE_UNAVAILABLE when the file cannot be stored.")
    async def export_residence(self, info: Info[Context, None], input: ExportResidenceInput) -> ExportResidenceResult:
        ctx = info.context
        media = await residence_files.export_residence(ctx.require_user(), ctx.storage, input.residence_id, utc_now())
        link = generated_files.download_link(ctx.services, media)
        return ExportResidenceResult(url=link.url, expires_at=link.expires_at)

    @mutation("Creates a residence, owned by the caller, from a `.honeydue` file uploaded with purpose "
              "RESIDENCE_IMPORT: its profile, contractors, tasks, completions (recorded without `completedBy`) and "
              f"documents (without files), in one transaction ({CAPS}). The file is consumed.")
    async def import_residence(self, info: Info[Context, None], input: ImportResidenceInput) -> ResidenceResult:
        ctx = info.context
        row = await residence_files.import_residence(ctx.require_user(), ctx.storage, input.file_id, utc_now(),
                                                     input.idempotency_key)
        return ResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER))
