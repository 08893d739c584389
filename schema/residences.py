"""Residences in GraphQL: the Residence type, ``residences``/``residence`` and membership mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

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
from schema.common import (
    IDEMPOTENCY_KEY_DESCRIPTION,
    After,
    Connection,
    First,
    FromRow,
    from_columns,
    make_connection,
    page_bounds,
)
from schema.context import Context
from schema.contractors import contractor_list
from schema.documents import Document
from schema.enums import (
    ClimateRegion,
    CoolingSystem,
    HeatingSystem,
    ResidenceRole,
    ResidenceType,
    RoofType,
    WaterHeaterType,
)
from schema.media import Media, load_media
from schema.mutation import OkResult, mutation
from schema.reports import spending_field
from schema.tasks import Task, TaskFilter


@strawberry.type(description="What a home is built with, as its owners stated it. Every field is null until "
                             "stated; suggestions read an unstated has* flag as false (absent).")
class HomeProfile:
    year_built: int | None = strawberry.field(description="The year the home was built (1600 to next year).")
    heating: HeatingSystem | None = strawberry.field(description="How it is heated.")  # type: ignore[valid-type]
    cooling: CoolingSystem | None = strawberry.field(description="How it is cooled.")  # type: ignore[valid-type]
    water_heater: WaterHeaterType | None = strawberry.field(  # type: ignore[valid-type]
        description="How it heats water.")
    roof: RoofType | None = strawberry.field(description="Its roof covering.")  # type: ignore[valid-type]
    has_pool: bool | None = strawberry.field(description="Whether it has a swimming pool.")
    has_septic: bool | None = strawberry.field(description="Whether it has a septic system.")
    has_fireplace: bool | None = strawberry.field(description="Whether it has a fireplace or chimney.")
    has_basement: bool | None = strawberry.field(description="Whether it has a basement.")
    has_sprinklers: bool | None = strawberry.field(description="Whether it has lawn sprinklers or irrigation.")
    climate_region: ClimateRegion | None = strawberry.field(  # type: ignore[valid-type]
        description="Its climate, as the owner judges it.")

    @classmethod
    def from_row(cls, row: models.Residence) -> HomeProfile:
        return cls(**{column: getattr(row, column) for column in residences.PROFILE_COLUMNS})


@strawberry.input(description="The home profile. Every field is optional. On createResidence the fields given are "
                              "set; on updateResidence only the fields sent change, and null clears a field "
                              "(back to unstated).")
class HomeProfileInput:
    year_built: int | None = strawberry.field(
        default=strawberry.UNSET, description="1600 to next year; else INVALID_INPUT on [profile, yearBuilt].")
    heating: HeatingSystem | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How it is heated.")
    cooling: CoolingSystem | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How it is cooled.")
    water_heater: WaterHeaterType | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How it heats water.")
    roof: RoofType | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="Its roof covering.")
    has_pool: bool | None = strawberry.field(default=strawberry.UNSET, description="Has a swimming pool.")
    has_septic: bool | None = strawberry.field(default=strawberry.UNSET, description="Has a septic system.")
    has_fireplace: bool | None = strawberry.field(default=strawberry.UNSET,
                                                  description="Has a fireplace or chimney.")
    has_basement: bool | None = strawberry.field(default=strawberry.UNSET, description="Has a basement.")
    has_sprinklers: bool | None = strawberry.field(default=strawberry.UNSET,
                                                   description="Has lawn sprinklers or irrigation.")
    climate_region: ClimateRegion | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="Its climate, as the owner judges it.")

    def columns(self) -> dict[str, object]:
        """The profile columns sent (an unsent field is left out; a null one clears its column)."""
        return {column: value for column, value in vars(self).items() if value is not strawberry.UNSET}


@strawberry.type(description="A user's membership of a residence.")
class ResidenceMember:
    role: ResidenceRole = strawberry.field(description="What the member may do.")  # type: ignore[valid-type]
    joined_at: datetime = strawberry.field(description="When they joined (or created the residence).")
    _row: strawberry.Private[models.Membership]

    @strawberry.field(description="The member.")
    async def user(self, info: Info[Context, None]) -> User:
        row = await loaders.load_user(info.context, self._row.user_id)
        assert row is not None  # memberships cascade with their user
        return User.from_row(row)


@strawberry.type(description="A home whose members share its tasks and documents. Only members see it; to "
                             "anyone else it does not exist (NOT_FOUND).")
class Residence(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    name: str = strawberry.field(description="1 to 200 characters.")
    address: str = strawberry.field(description="Free text, at most 1000 characters; empty when not given.")
    timezone: str = strawberry.field(description="IANA name; every due date of the residence is in this zone.")
    type: ResidenceType = strawberry.field(description="What kind of home it is.")  # type: ignore[valid-type]
    profile: HomeProfile = strawberry.field(description="What the home is built with; drives suggestedTasks.")
    created_at: datetime = strawberry.field(description="When the residence was created.")
    _row: strawberry.Private[models.Residence]
    _role: strawberry.Private[models.ResidenceRole | None] = None

    @classmethod
    def from_row(cls, row: models.Residence, role: models.ResidenceRole | None = None) -> Residence:
        return from_columns(cls, row, profile=HomeProfile.from_row(row), _role=role)

    @strawberry.field(description="The residence's photo (requestUpload with purpose RESIDENCE_PHOTO; a new one "
                                  "replaces and deletes the old); null when none.")
    async def photo(self, info: Info[Context, None]) -> Media | None:
        media = await load_media(info.context, self._row.photo_id)
        return media if media is not None and media.status == models.MediaStatus.READY else None

    @strawberry.field(description="The caller's role here.")
    async def my_role(self, info: Info[Context, None]) -> ResidenceRole:  # type: ignore[valid-type]
        role = self._role or await loaders.load_my_role(info.context, self._row.id)
        if role is None:
            raise NotFound()
        return role

    @strawberry.field(description="Everyone who belongs to the residence, with their role.")
    async def members(self, info: Info[Context, None]) -> list[ResidenceMember]:
        rows = await loaders.load_members(info.context, self._row.id)
        return [ResidenceMember(role=m.role, joined_at=m.created_at, _row=m) for m in rows]

    @strawberry.field(description="Not archived unless the filter says so; undated last, then soonest due first.")
    async def tasks(
        self, info: Info[Context, None],
        filter: Annotated[TaskFilter | None, strawberry.argument(description="Which tasks; all but archived ones "
                                                                             "when omitted.")] = None,
        first: First = None, after: After = None,
    ) -> Connection[Task]:
        offset, limit = page_bounds(first, after)
        spec = filter.to_spec() if filter else TaskFilter().to_spec()
        page = await loaders.load_task_page(info.context, self._row.id, spec, offset, limit)
        return make_connection([Task.from_row(r) for r in page.rows], offset, page.total)

    contractors = contractor_list()
    spending = spending_field()

    @strawberry.field(description="The residence's documents, newest first.")
    async def documents(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[Document]:
        offset, limit = page_bounds(first, after)
        page = await loaders.load_document_page(info.context, self._row.id, offset, limit)
        return make_connection([Document.from_row(r) for r in page.rows], offset, page.total)


@strawberry.input(description="A new residence; the caller becomes its OWNER.")
class CreateResidenceInput:
    name: str = strawberry.field(description="1 to 200 characters after trimming; else INVALID_INPUT.")
    address: str | None = strawberry.field(default=None, description="At most 1000 characters; else INVALID_INPUT.")
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Paris; else "
                                                                "INVALID_TIMEZONE.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
    type: ResidenceType = strawberry.field(  # type: ignore[valid-type]
        default=models.ResidenceType.HOUSE, description="What kind of home it is; HOUSE by default.")
    profile: HomeProfileInput | None = strawberry.field(
        default=None, description="What the home is built with; every field optional.")


@strawberry.input(description="Only the fields sent change.")
class UpdateResidenceInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence to change.")
    name: str | None = strawberry.field(default=None, description="1 to 200 characters after trimming; else "
                                                                  "INVALID_INPUT.")
    address: str | None = strawberry.field(default=None, description="At most 1000 characters; else INVALID_INPUT.")
    timezone: str | None = strawberry.field(default=None, description="IANA name, e.g. Europe/Paris; else "
                                                                      "INVALID_TIMEZONE. Due dates keep their dates.")
    type: ResidenceType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="What kind of home it is; null or left out keeps the current type.")
    profile: HomeProfileInput | None = strawberry.field(
        default=None, description="Only the profile fields sent change; null in a field clears it.")


@strawberry.input(description="The residence to delete.")
class DeleteResidenceInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence to delete.")


@strawberry.input(description="A code to invite people into a residence.")
class CreateShareCodeInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence to share.")
    role: ResidenceRole = strawberry.field(  # type: ignore[valid-type]
        default=models.ResidenceRole.VIEWER, description="The role whoever joins with the code gets.")
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the code expires: default 7 days, 300 (5 minutes) to 2592000 "
                                  "(30 days); else INVALID_INPUT.")


@strawberry.input(description="The share code to revoke.")
class RevokeShareCodeInput:
    code: str = strawberry.field(description="The code as given out; case, spaces and dashes are ignored, and O, I "
                                             "and L read as 0, 1 and 1.")


@strawberry.input(description="The share code someone gave the caller.")
class JoinResidenceInput:
    code: str = strawberry.field(description="The code as given out; case, spaces and dashes are ignored, and O, I "
                                             "and L read as 0, 1 and 1. INVALID_CODE when unknown, expired or "
                                             "revoked.")


@strawberry.input(description="Owners remove anyone; anyone may remove themselves (leave).")
class RemoveMemberInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence to remove the member from.")
    user_id: strawberry.ID = strawberry.field(description="The member to remove; the caller's own ID to leave. "
                                                          "NOT_FOUND when not a member, LAST_OWNER for the last "
                                                          "OWNER.")


@strawberry.type
class ResidenceResult:
    residence: Residence | None = strawberry.field(default=None, description="The residence as it is now.")


@strawberry.type
class DeletedResidenceResult:
    residence: Residence | None = strawberry.field(
        default=None, description="The residence as it was; its own fields only, its lists are empty now.")
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted residence.")


@strawberry.type
class ShareCodeResult:
    code: str | None = strawberry.field(default=None, description="The code to give out: 10 characters of 0-9 and "
                                                                  "A-Z without I, L, O and U.")
    role: ResidenceRole | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The role whoever joins with it gets.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the code stops working.")


@strawberry.type
class ResidenceQuery:
    @strawberry.field(description="The residences the caller belongs to, in the order they joined.")
    async def residences(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[Residence]:
        user = info.context.require_user()
        offset, limit = page_bounds(first, after)
        query = models.Membership.filter(user_id=user.id)
        total = await query.count()
        rows = await query.select_related("residence").order_by("created_at", "id").offset(offset).limit(limit)
        return make_connection([Residence.from_row(m.residence, m.role) for m in rows], offset, total)

    @strawberry.field(description="One residence of the caller's. NOT_FOUND when it does not exist or the caller "
                                  "is not a member.")
    async def residence(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Residence:
        user = info.context.require_user()  # before the ID is read: anonymous is UNAUTHENTICATED, whatever the ID
        rid = as_id(id)
        membership = await require_role(user, rid, models.ResidenceRole.VIEWER)
        return Residence.from_row(await models.Residence.get(id=rid), membership.role)


@strawberry.type
class ResidenceMutation:
    @mutation("Creates a residence with the caller as its OWNER.")
    async def create_residence(self, info: Info[Context, None], input: CreateResidenceInput) -> ResidenceResult:
        row = await residences.create_residence(
            info.context.require_user(), input.name, input.address, input.timezone, input.idempotency_key,
            type=input.type, profile=input.profile.columns() if input.profile else None, now=utc_now())
        return ResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER))

    @mutation("Renames, re-addresses or moves a residence to another timezone. OWNER only: FORBIDDEN for other "
              "members, NOT_FOUND for non-members.")
    async def update_residence(self, info: Info[Context, None], input: UpdateResidenceInput) -> ResidenceResult:
        row = await residences.update_residence(
            info.context.require_user(), as_id(input.residence_id), input.name, input.address, input.timezone,
            type=input.type, profile=input.profile.columns() if input.profile else None, now=utc_now())
        return ResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER))

    @mutation("Deletes a residence with its tasks, documents, files and memberships. OWNER only: FORBIDDEN for "
              "other members, NOT_FOUND for non-members.")
    async def delete_residence(
        self, info: Info[Context, None], input: DeleteResidenceInput
    ) -> DeletedResidenceResult:
        row = await residences.delete_residence(info.context.require_user(), as_id(input.residence_id))
        return DeletedResidenceResult(residence=Residence.from_row(row, models.ResidenceRole.OWNER),
                                      deleted_id=strawberry.ID(str(row.id)))

    @mutation("Makes a code that lets whoever has it join the residence, until it expires or is revoked. OWNER "
              "only: FORBIDDEN for other members, NOT_FOUND for non-members.")
    async def create_share_code(self, info: Info[Context, None], input: CreateShareCodeInput) -> ShareCodeResult:
        share = await residences.create_share_code(info.context.require_user(), as_id(input.residence_id),
                                                   input.role, input.expires_in, utc_now())
        return ShareCodeResult(code=share.code, role=share.role, expires_at=share.expires_at)

    @mutation("Stops a share code from working at once. OWNER of its residence only: FORBIDDEN for other "
              "members, NOT_FOUND for an unknown code and for non-members.")
    async def revoke_share_code(self, info: Info[Context, None], input: RevokeShareCodeInput) -> OkResult:
        await residences.revoke_share_code(info.context.require_user(), input.code, utc_now())
        return OkResult(ok=True)

    @mutation("Joins a residence with a share code, in the code's role. RATE_LIMITED after too many attempts.")
    async def join_residence(self, info: Info[Context, None], input: JoinResidenceInput) -> ResidenceResult:
        ctx = info.context
        row = await residences.join_residence(ctx.require_user(), ctx.rate_limiter, ctx.client_ip, input.code,
                                              utc_now())
        return ResidenceResult(residence=Residence.from_row(row))

    @mutation("Removes a member (OWNER), or leaves (anyone removing themselves); the member's task assignments "
              "are cleared. The residence is null after leaving. FORBIDDEN for a non-owner removing someone else, "
              "NOT_FOUND for non-members.")
    async def remove_member(self, info: Info[Context, None], input: RemoveMemberInput) -> ResidenceResult:
        row = await residences.remove_member(info.context.require_user(), as_id(input.residence_id),
                                             reference_id(input.user_id), utc_now())
        return ResidenceResult(residence=Residence.from_row(row) if row else None)
