"""The Media type (uploaded files) and the loaders that fetch it in batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import strawberry

from honeydue import models
from schema.context import Context

MediaStatus = strawberry.enum(models.MediaStatus, name="MediaStatus")


@strawberry.type
class Media:
    id: strawberry.ID
    filename: str
    content_type: str
    size: int
    created_at: datetime
    status: MediaStatus  # type: ignore[valid-type]
    reject_reason: str | None
    _row: strawberry.Private[models.Media]

    @classmethod
    def from_row(cls, row: models.Media) -> Media:
        return cls(
            id=strawberry.ID(str(row.id)),
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
            status=row.status,
            reject_reason=row.reject_reason,
            _row=row,
        )


async def _media_by_id(ids: Sequence[uuid.UUID]) -> list[models.Media | None]:
    rows = {row.id: row for row in await models.Media.filter(id__in=list(ids))}
    return [rows.get(i) for i in ids]


async def load_media(ctx: Context, media_id: uuid.UUID | None) -> Media | None:
    if media_id is None:
        return None
    row = await ctx.loader("media_by_id", _media_by_id).load(media_id)
    return Media.from_row(row) if row is not None else None
