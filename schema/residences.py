"""Residences in GraphQL: the Residence type, ``residences``/``residence`` and membership mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.clock import utc_now
from honeydue.errors import NotFound
from resolvers import residences
from resolvers.access import require_role
from resolvers.ids import as_id, reference_id
from schema import loaders
from schema.accounts import User
from schema.common import Connection, make_connection, page_bounds
from schema.context import Context
from schema.documents import Document
from schema.mutation import OkResult, mutation
from schema.tasks import Task, TaskFilter

ResidenceRole = strawberry.enum(models.ResidenceRole, name="ResidenceRole")


@strawberry.type
class ResidenceMember:
    role: ResidenceRole  # type: ignore[valid-type]
    joined_at: datetime
    _row: strawberry.Private[models.Membership]

    @strawberry.field
    async def user(self, info: Info[Context, None]) -> User:
        row = await loaders.load_user(info.context, self._row.user_id)
        assert row is not None  # memberships cascade with their user
        return User.from_row(row)


@strawberry.type
class Residence:
    id: strawberry.ID
    name: str
    address: str
    timezone: str = strawberry.field(description="IANA name; every due date of the residence is in this zone.")
    created_at: datetime
    _row: strawberry.Private[models.Residence]
    _role: strawberry.Private[models.ResidenceRole | None] = None

    @classmethod
    def from_row(cls, row: models.Residence, role: models.ResidenceRole | None = None) -> Residence:
        return cls(id=strawberry.ID(str(row.id)), name=row.name, address=row.address, timezone=row.timezone,
                   created_at=row.created_at, _row=row, _role=role)

    @strawberry.field
    async def my_role(self, info: Info[Context, None]) -> ResidenceRole:  # type: ignore[valid-type]
        role = self._role or await loaders.load_my_role(info.context, self._row.id)
        if role is None:
            raise NotFound()
        return role

    @strawberry.field
    async def members(self, info: Info[Context, None]) -> list[ResidenceMember]:
        rows = await loaders.load_members(info.context, self._row.id)
        return [ResidenceMember(role=m.role, joined_at=m.created_at, _row=m) for m in rows]

    @strawberry.field(description="Not archived unless the filter says so; undated last, then soonest due first.")
    async def tasks(
        self, info: Info[Context, None], filter: TaskFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Task]:
        offset, limit = page_bounds(first, after)
        spec = filter.to_spec() if filter else TaskFilter().to_spec()
        page = await loaders.load_task_page(info.context, self._row.id, spec, offset, limit)
        return make_connection([Task.from_row(r) for r in page.rows], offset, page.total)

    @strawberry.field(description="Newest first.")
    async def documents(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Document]:
        offset, limit = page_bounds(first, after)
        page = await loaders.load_document_page(info.context, self._row.id, offset, limit)
        return make_connection([Document.from_row(r) for r in page.rows], offset, page.total)


@strawberry.input
class CreateResidenceInput:
    name: str
    address: str | None = None
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Paris.")


@strawberry.input(description="Only the fields sent change.")
class UpdateResidenceInput:
    residence_id: strawberry.ID
    name: str | None = None
    address: str | None = None
    timezone: str | None = None


@strawberry.input
class DeleteResidenceInput:
    residence_id: strawberry.ID


@strawberry.input
class CreateShareCodeInput:
    residence_id: strawberry.ID
    role: ResidenceRole = models.ResidenceRole.VIEWER  # type: ignore[valid-type]
    expires_in: int | None = strawberry.field(default=None, description="Seconds; default 7 days, at most 30.")


@strawberry.input
class RevokeShareCodeInput:
    code: str


@strawberry.input
class JoinResidenceInput:
    code: str


@strawberry.input(description="Owners remove anyone; anyone may remove themselves (leave).")
class RemoveMemberInput:
    residence_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class ResidenceResult:
    residence: Residence | None = None


@strawberry.type
class DeletedResidenceResult:
    residence: Residence | None = None
    deleted_id: strawberry.ID | None = None


@strawberry.type
class ShareCodeResult:
    code: str | None = None
    role: ResidenceRole | None = None  # type: ignore[valid-type]
    expires_at: datetime | None = None


@strawberry.type
class ResidenceQuery:
    @strawberry.field(description="The residences the caller belongs to, oldest first.")
    async def residences(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Residence]:
        user = info.context.require_user()
        offset, limit = page_bounds(first, after)
        query = models.Membership.filter(user_id=user.id)
        total = await query.count()
        rows = await query.select_related("residence").order_by("created_at", "id").offset(offset).limit(limit)
        return make_connection([Residence.from_row(m.residence, m.role) for m in rows], offset, total)

    @strawberry.field
    async def residence(self, info: Info[Context, None], id: strawberry.ID) -> Residence:
        user = info.context.require_user()  # before the ID is read: anonymous is UNAUTHENTICATED, whatever the ID
        rid = as_id(id)
        membership = await require_role(user, rid, models.ResidenceRole.VIEWER)
        return Residence.from_row(await models.Residence.get(id=rid), membership.role)


@strawberry.type
class ResidenceMutation:
    @mutation()
    async def create_residence(self, info: Info[Context, None], input: CreateResidenceInput) -> ResidenceResult:
        row = await residences.create_residence(info.context.require_user(), input.name, input.address,
                                                input.timezone)
        return ResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER))

    @mutation()
    async def update_residence(self, info: Info[Context, None], input: UpdateResidenceInput) -> ResidenceResult:
        row = await residences.update_residence(info.context.require_user(), as_id(input.residence_id), input.name,
                                                input.address, input.timezone)
        return ResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER))

    @mutation()
    async def delete_residence(
        self, info: Info[Context, None], input: DeleteResidenceInput
    ) -> DeletedResidenceResult:
        row = await residences.delete_residence(info.context.require_user(), as_id(input.residence_id))
        return DeletedResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER),
                                      deleted_id=strawberry.ID(str(row.id)))

    @mutation()
    async def create_share_code(self, info: Info[Context, None], input: CreateShareCodeInput) -> ShareCodeResult:
        share = await residences.create_share_code(info.context.require_user(), as_id(input.residence_id),
                                                   input.role, input.expires_in, utc_now())
        return ShareCodeResult(code=share.code, role=share.role, expires_at=share.expires_at)

    @mutation()
    async def revoke_share_code(self, info: Info[Context, None], input: RevokeShareCodeInput) -> OkResult:
        await residences.revoke_share_code(info.context.require_user(), input.code, utc_now())
        return OkResult(ok=True)

    @mutation()
    async def join_residence(self, info: Info[Context, None], input: JoinResidenceInput) -> ResidenceResult:
        ctx = info.context
        row = await residences.join_residence(ctx.require_user(), ctx.rate_limiter, input.code, utc_now())
        return ResidenceResult(residence=Residence.from_row(row))

    @mutation()
    async def remove_member(self, info: Info[Context, None], input: RemoveMemberInput) -> ResidenceResult:
        row = await residences.remove_member(info.context.require_user(), as_id(input.residence_id),
                                             reference_id(input.user_id))
        return ResidenceResult(residence=Residence.from_row(row) if row else None)
