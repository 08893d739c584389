"""``residence`` on the types that belong to one residence (Task, Document, Contractor): one resolver for all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from schema import loaders
from schema.context import Context

if TYPE_CHECKING:
    from schema.residences import Residence


def residence_field(description: str) -> Any:
    """A field giving the residence of the type's ``_row`` (a row with a ``residence_id``)."""

    async def resolve(
        root: Any, info: Info[Context, None]
    ) -> Annotated[Residence, strawberry.lazy("schema.residences")]:
        from schema.residences import Residence

        row = await loaders.load_residence(info.context, root._row.residence_id)
        assert row is not None  # tasks, documents and contractors cascade with their residence
        return Residence.from_row(row)

    return strawberry.field(resolver=resolve, description=description)
