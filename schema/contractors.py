"""Contractors in GraphQL: the Contractor type (with its vCard), ``contractor(id)`` and the mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from honeydue import models, vcard
from resolvers import contractors
from resolvers.contractors import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_SEARCH_LENGTH,
    MAX_SPECIALTIES,
    MAX_SPECIALTY_LENGTH,
    MAX_WEBSITE_LENGTH,
)
from schema import loaders
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
from schema.mutation import mutation
from schema.residence_field import residence_field
from schema.tasks import sent_fields

if TYPE_CHECKING:
    pass

SPECIALTIES_DESCRIPTION = (
    f"At most {MAX_SPECIALTIES} entries, each 1 to {MAX_SPECIALTY_LENGTH} characters once trimmed; more entries "
    "is one INVALID_INPUT error on `specialties`, a blank or long entry an INVALID_INPUT error at its index. "
    "Stored trimmed, lowercased and without duplicates. Use the documented words (plumbing, electrical, hvac, "
    "roofing, landscaping, pest_control, cleaning, appliance_repair, handyman, painting, pool, septic, chimney, "
    "gutters, flooring, carpentry, locksmith, security, solar, general_contractor, masonry, drywall, windows, "
    "garage_door, tree_service, snow_removal, waterproofing, insulation, inspection, moving) or free text; "
    "free text spelling a word with spaces or hyphens (\"Pest Control\") is stored as the word."
)
NAME_DESCRIPTION = f"The person or firm to call: 1 to {MAX_NAME_LENGTH} characters once trimmed."
COMPANY_DESCRIPTION = f"The firm they work for: at most {MAX_NAME_LENGTH} characters; empty when none."
PHONE_DESCRIPTION = f"Free text (any format), at most {MAX_PHONE_LENGTH} characters; empty when none."
EMAIL_DESCRIPTION = (f"An address of the shape name@domain.tld, at most {MAX_EMAIL_LENGTH} characters (else "
                     "INVALID_EMAIL); empty when none. Only the shape is checked.")
WEBSITE_DESCRIPTION = (f"An http:// or https:// URL with a host, at most {MAX_WEBSITE_LENGTH} characters (else "
                       "INVALID_INPUT); empty when none. Only the shape is checked.")
NOTES_DESCRIPTION = f"Free text, at most {MAX_NOTES_LENGTH} characters; empty when none."
FAVORITE_DESCRIPTION = "Marked as a favourite: favourites come first in `Residence.contractors`."


@strawberry.type(description="A person or firm a residence calls for work: a plumber, an electrician, the gutter "
                             "cleaner. Belongs to one residence; its members see it (VIEWER), editors and owners "
                             "change it.")
class Contractor(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    name: str = strawberry.field(description=NAME_DESCRIPTION)
    company: str = strawberry.field(description=COMPANY_DESCRIPTION)
    phone: str = strawberry.field(description=PHONE_DESCRIPTION)
    email: str = strawberry.field(description=EMAIL_DESCRIPTION)
    website: str = strawberry.field(description=WEBSITE_DESCRIPTION)
    specialties: list[str] = strawberry.field(description="What they do, in the order given: lowercase words, the "
                                                          "documented ones or free text (see docs/api.md).")
    notes: str = strawberry.field(description=NOTES_DESCRIPTION)
    favorite: bool = strawberry.field(description=FAVORITE_DESCRIPTION)
    created_at: datetime = strawberry.field(description="When the contractor was added.")
    updated_at: datetime = strawberry.field(description="When the contractor was last changed.")
    _row: strawberry.Private[models.Contractor]

    @classmethod
    def from_row(cls, row: models.Contractor) -> Contractor:
        return from_columns(cls, row, specialties=list(row.specialties))

    residence = residence_field("The residence whose contractor this is.")

    @strawberry.field(description="The contractor as a vCard 4.0 (RFC 6350) to import into a phone's contacts: "
                                  "FN, ORG, TEL, EMAIL, URL, NOTE, CATEGORIES (the specialties), UID and REV; "
                                  "CRLF line endings, lines folded at 75 octets. Save it as a .vcf file.")
    def vcard(self) -> str:
        row = self._row
        return vcard.render(vcard.Card(
            uid=f"urn:uuid:{row.id}", name=row.name, revised=row.updated_at, company=row.company, phone=row.phone,
            email=row.email, website=row.website, notes=row.notes, categories=row.specialties,
        ))


def contractor_list() -> Any:
    """``Residence.contractors``: defined here with the rest of the contractors, attached in schema.residences."""

    async def resolve(
        root: Any, info: Info[Context, None],
        search: Annotated[str | None, strawberry.argument(description=(
            "Keeps contractors whose name, company or one of whose specialties contains this text, "
            f"case-insensitively (runs of spaces count as one); at most {MAX_SEARCH_LENGTH} characters, else an "
            "INVALID_INPUT error. Blank or null: no search."))] = None,
        specialty: Annotated[str | None, strawberry.argument(description=(
            "Keeps contractors with this specialty (normalised as on input: \"Pest Control\" is pest_control); "
            f"at most {MAX_SPECIALTY_LENGTH} characters, else an INVALID_INPUT error. Blank or null: any."))] = None,
        favorites_only: Annotated[bool, strawberry.argument(
            description="Only the contractors marked `favorite`.")] = False,
        first: First = None,
        after: After = None,
    ) -> Connection[Contractor]:
        offset, limit = page_bounds(first, after)
        spec = contractors.filter_spec(search, specialty, favorites_only)
        page = await loaders.load_contractor_page(info.context, root._row.id, spec, offset, limit)
        return make_connection([Contractor.from_row(r) for r in page.rows], offset, page.total)

    return strawberry.field(resolver=resolve, description=(
        "The residence's contractors, favourites first, then by name (case-insensitively); every given filter "
        "must hold. Any member may read them."))


@strawberry.input(description="A new contractor of a residence (EDITOR or OWNER).")
class CreateContractorInput:
    residence_id: strawberry.ID = strawberry.field(description="The residence; NOT_FOUND when the caller is not a "
                                                               "member, FORBIDDEN for a VIEWER.")
    name: str = strawberry.field(description=NAME_DESCRIPTION)
    company: str | None = strawberry.field(default=None, description=COMPANY_DESCRIPTION)
    phone: str | None = strawberry.field(default=None, description=PHONE_DESCRIPTION)
    email: str | None = strawberry.field(default=None, description=EMAIL_DESCRIPTION)
    website: str | None = strawberry.field(default=None, description=WEBSITE_DESCRIPTION)
    specialties: list[str] = strawberry.field(default_factory=list, description=SPECIALTIES_DESCRIPTION)
    notes: str | None = strawberry.field(default=None, description=NOTES_DESCRIPTION)
    favorite: bool = strawberry.field(default=False, description=FAVORITE_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="Changes to a contractor (EDITOR or OWNER). Only the fields sent change; null "
                              "clears company, phone, email, website, notes and specialties, and leaves favorite "
                              "as it is. When any field is invalid nothing changes.")
class UpdateContractorInput:
    contractor_id: strawberry.ID = strawberry.field(description="The contractor; NOT_FOUND when the caller is not "
                                                                "a member of its residence.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description=NAME_DESCRIPTION)
    company: str | None = strawberry.field(default=strawberry.UNSET, description=COMPANY_DESCRIPTION)
    phone: str | None = strawberry.field(default=strawberry.UNSET, description=PHONE_DESCRIPTION)
    email: str | None = strawberry.field(default=strawberry.UNSET, description=EMAIL_DESCRIPTION)
    website: str | None = strawberry.field(default=strawberry.UNSET, description=WEBSITE_DESCRIPTION)
    specialties: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole new list. " + SPECIALTIES_DESCRIPTION)
    notes: str | None = strawberry.field(default=strawberry.UNSET, description=NOTES_DESCRIPTION)
    favorite: bool | None = strawberry.field(default=strawberry.UNSET, description=FAVORITE_DESCRIPTION)


@strawberry.input(description="Deletes a contractor (EDITOR or OWNER). Tasks and completions that named it keep "
                              "going with `contractor` null.")
class DeleteContractorInput:
    contractor_id: strawberry.ID = strawberry.field(description="The contractor; NOT_FOUND when the caller is not "
                                                                "a member of its residence.")


@strawberry.type
class ContractorResult:
    contractor: Contractor | None = strawberry.field(default=None, description="The contractor as saved; null "
                                                                               "when userErrors is not empty.")


@strawberry.type
class DeletedContractorResult:
    contractor: Contractor | None = strawberry.field(default=None, description="The contractor as it was; null "
                                                                               "when userErrors is not empty.")
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted "
                                                                                  "contractor.")


@strawberry.type
class ContractorQuery:
    @strawberry.field(description="One contractor of a residence the caller belongs to (any role); NOT_FOUND "
                                  "otherwise.")
    async def contractor(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(
            description="The contractor's ID; a malformed one is NOT_FOUND.")]
    ) -> Contractor:
        return Contractor.from_row(await contractors.get_contractor(info.context.require_user(), id))


@strawberry.type
class ContractorMutation:
    @mutation(description="Adds a contractor to a residence (EDITOR or OWNER). Every invalid field is a userErrors "
                          "entry: INVALID_INPUT (name, company, phone, website, notes, specialties), INVALID_EMAIL.")
    async def create_contractor(self, info: Info[Context, None], input: CreateContractorInput) -> ContractorResult:
        row = await contractors.create_contractor(
            info.context.require_user(), input.residence_id, name=input.name, company=input.company,
            phone=input.phone, email=input.email, website=input.website, specialties=input.specialties,
            notes=input.notes, favorite=input.favorite, idempotency_key=input.idempotency_key,
        )
        return ContractorResult(contractor=Contractor.from_row(row))

    @mutation(description="Changes the fields sent (EDITOR or OWNER); the same userErrors as createContractor.")
    async def update_contractor(self, info: Info[Context, None], input: UpdateContractorInput) -> ContractorResult:
        row = await contractors.update_contractor(info.context.require_user(), input.contractor_id,
                                                  **sent_fields(input, "contractor_id"))
        return ContractorResult(contractor=Contractor.from_row(row))

    @mutation(description="Deletes a contractor (EDITOR or OWNER); tasks and completions that named it show "
                          "`contractor: null` from then on.")
    async def delete_contractor(
        self, info: Info[Context, None], input: DeleteContractorInput
    ) -> DeletedContractorResult:
        row = await contractors.delete_contractor(info.context.require_user(), input.contractor_id)
        return DeletedContractorResult(contractor=Contractor.from_row(row), deleted_id=strawberry.ID(str(row.id)))
