"""Contractors: the people and firms a residence calls, their specialties, and the search over them.

Roles are the tasks' (VIEWER reads; EDITOR and OWNER write). Specialties are lowercase words: the
documented ones (``SPECIALTIES``) or free text, normalised on the way in (trimmed, inner whitespace
collapsed, lowercased, duplicates dropped). The text a search looks at is kept case-folded in one column
(``search_text``) and the specialties in another (``specialty_tags``), so a filtered page is one SQL
statement on PostgreSQL and SQLite alike, with nothing loaded into Python to filter it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tortoise.queryset import QuerySet

from honeydue.errors import InvalidInput
from honeydue.models import Contractor, ResidenceRole, User
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers import idempotency
from resolvers.access import contractor_for, require_role
from resolvers.accounts import EMAIL_RE
from resolvers.ids import as_id
from resolvers.tasks import KEEP

# The documented specialties (docs/api.md). Free text is accepted too; a free-text entry that is one of
# these with spaces or hyphens for underscores ("Pest Control", "general-contractor") is stored as the word.
SPECIALTIES = (
    "plumbing", "electrical", "hvac", "roofing", "landscaping", "pest_control", "cleaning", "appliance_repair",
    "handyman", "painting", "pool", "septic", "chimney", "gutters", "flooring", "carpentry", "locksmith",
    "security", "solar", "general_contractor", "masonry", "drywall", "windows", "garage_door", "tree_service",
    "snow_removal", "waterproofing", "insulation", "inspection", "moving",
)
_KNOWN = frozenset(SPECIALTIES)

MAX_SPECIALTIES = 20
MAX_SPECIALTY_LENGTH = 50
MAX_NAME_LENGTH = 200  # name and company
MAX_PHONE_LENGTH = 50
MAX_EMAIL_LENGTH = 254
MAX_WEBSITE_LENGTH = 2000
MAX_NOTES_LENGTH = 10_000
MAX_SEARCH_LENGTH = 200
# Joins the parts of the search columns. A control character: the API refuses those in every text input,
# so no search and no stored value can contain it, and a match can never span two parts.
SEPARATOR = "\x1f"


def _words(value: str) -> str:
    """``value`` trimmed, with every run of whitespace inside made one space."""
    return " ".join(value.split())


def _fold(value: str) -> str:
    """The form both sides of a search are compared in: words collapsed, case-folded (``Straße`` = ``strasse``)."""
    return _words(value).casefold()


def normalise_specialty(value: str) -> str:
    """One specialty as stored: trimmed, lowercased, a documented word where it spells one."""
    word = _words(value).lower()
    known = word.replace(" ", "_").replace("-", "_")
    return known if known in _KNOWN else word


def _specialties(values: Sequence[str], errors: list[UserError]) -> list[str]:
    """The specialties to store, in the order given, without duplicates.

    More than 20 entries is one INVALID_INPUT error on ``specialties``, checked before any entry is looked
    at; an entry that is blank or longer than 50 characters (once trimmed) is an error at its index.
    """
    if len(values) > MAX_SPECIALTIES:
        errors.append(UserError(UserErrorCode.INVALID_INPUT,
                                f"specialties may hold at most {MAX_SPECIALTIES} entries.", ["specialties"]))
        return []
    kept: dict[str, None] = {}
    for index, value in enumerate(values):
        specialty = normalise_specialty(value)
        if 1 <= len(specialty) <= MAX_SPECIALTY_LENGTH:
            kept.setdefault(specialty)
        else:
            errors.append(UserError(UserErrorCode.INVALID_INPUT,
                                    f"A specialty must be 1 to {MAX_SPECIALTY_LENGTH} characters.",
                                    ["specialties", str(index)]))
    return list(kept)


def _text(value: str | None, field: str, label: str, limit: int, errors: list[UserError], *,
          required: bool = False) -> str:
    text = (value or "").strip()
    if len(text) > limit or (required and not text):
        least = 1 if required else 0
        errors.append(UserError(UserErrorCode.INVALID_INPUT, f"{label} must be {least} to {limit} characters.",
                                [field]))
    return text


def _email(value: str | None, errors: list[UserError]) -> str:
    email = (value or "").strip()
    if email and (len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email)):
        errors.append(UserError(UserErrorCode.INVALID_EMAIL, "Enter an email address such as name@example.com.",
                                ["email"]))
    return email


def _website(value: str | None, errors: list[UserError]) -> str:
    url = (value or "").strip()
    if url and not _is_web_address(url):
        errors.append(UserError(UserErrorCode.INVALID_INPUT, "The website must be an http:// or https:// address "
                                f"of at most {MAX_WEBSITE_LENGTH} characters.", ["website"]))
    return url


def _is_web_address(url: str) -> bool:
    if len(url) > MAX_WEBSITE_LENGTH or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port  # a malformed port raises ValueError
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(hostname)


def search_columns(name: str, company: str, specialties: Sequence[str]) -> dict[str, str]:
    """The stored search columns for these values (see ``Contractor.search_text`` / ``specialty_tags``).

    A documented word is also searchable with spaces ("pest control" finds ``pest_control``).
    """
    parts = [_fold(name), _fold(company)]
    for specialty in specialties:
        parts.append(_fold(specialty))
        if "_" in specialty and specialty in _KNOWN:
            parts.append(specialty.replace("_", " "))
    return {
        "search_text": SEPARATOR + SEPARATOR.join(parts) + SEPARATOR,
        "specialty_tags": SEPARATOR + SEPARATOR.join(specialties) + SEPARATOR if specialties else "",
    }


# Reading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractorFilterSpec:
    """Which contractors of a residence a list shows; hashable so it can key a DataLoader."""

    search: str | None = None  # case-folded
    specialty: str | None = None  # normalised
    favorites_only: bool = False


def filter_spec(search: str | None, specialty: str | None, favorites_only: bool) -> ContractorFilterSpec:
    """The list's arguments checked and normalised; over-long ones are a top-level INVALID_INPUT error."""
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise InvalidInput(f"search may be at most {MAX_SEARCH_LENGTH} characters.")
    if specialty is not None and len(specialty) > MAX_SPECIALTY_LENGTH:
        raise InvalidInput(f"specialty may be at most {MAX_SPECIALTY_LENGTH} characters.")
    folded = _fold(search) if search is not None else ""
    wanted = normalise_specialty(specialty) if specialty is not None else ""
    return ContractorFilterSpec(search=folded or None, specialty=wanted or None, favorites_only=favorites_only)


def filtered_contractors(residence_ids: list[uuid.UUID], spec: ContractorFilterSpec) -> QuerySet[Contractor]:
    """The contractors of these residences that ``spec`` selects: name, company or a specialty contains the
    search (case-insensitively), the specialty is one of theirs, and favourites only when asked."""
    query = Contractor.filter(residence_id__in=residence_ids)
    if spec.search:
        query = query.filter(search_text__contains=spec.search)
    if spec.specialty:
        query = query.filter(specialty_tags__contains=SEPARATOR + spec.specialty + SEPARATOR)
    if spec.favorites_only:
        query = query.filter(favorite=True)
    return query


async def get_contractor(user: User, contractor_id: object) -> Contractor:
    return await contractor_for(user, contractor_id, ResidenceRole.VIEWER)


# Writing ----------------------------------------------------------------------------------------------


def checked_columns(
    *, name: str, company: str | None, phone: str | None, email: str | None, website: str | None,
    specialties: Sequence[str], notes: str | None,
) -> tuple[dict[str, Any], list[UserError]]:
    """A new contractor's columns (search columns included) and every problem with them (createContractor and
    importResidence check the same way)."""
    errors: list[UserError] = []
    values: dict[str, Any] = dict(
        name=_text(name, "name", "Name", MAX_NAME_LENGTH, errors, required=True),
        company=_text(company, "company", "Company", MAX_NAME_LENGTH, errors),
        phone=_text(phone, "phone", "Phone", MAX_PHONE_LENGTH, errors),
        email=_email(email, errors), website=_website(website, errors),
        notes=_text(notes, "notes", "Notes", MAX_NOTES_LENGTH, errors),
        specialties=_specialties(specialties, errors),
    )
    values.update(search_columns(values["name"], values["company"], values["specialties"]))
    return values, errors


async def create_contractor(
    user: User, residence_id: object, *, name: str, company: str | None = None, phone: str | None = None,
    email: str | None = None, website: str | None = None, specialties: Sequence[str] = (),
    notes: str | None = None, favorite: bool = False, idempotency_key: str | None = None,
) -> Contractor:
    """A new contractor of a residence (EDITOR). Every field is checked; all problems are reported at once.

    With an ``idempotency_key`` a repeat returns the contractor the first request created.
    """
    request = idempotency.request(user, idempotency_key, "createContractor", dict(
        residence_id=residence_id, name=name, company=company, phone=phone, email=email, website=website,
        specialties=list(specialties), notes=notes, favorite=favorite))

    async def create() -> Contractor:
        rid = as_id(residence_id)
        await require_role(user, rid, ResidenceRole.EDITOR)
        values, errors = checked_columns(name=name, company=company, phone=phone, email=email, website=website,
                                         specialties=specialties, notes=notes)
        if errors:
            raise InputRejected(*errors)
        async with idempotency.claimed(request) as contractor_id:
            return await Contractor.create(id=contractor_id, residence_id=rid, favorite=favorite, **values)

    replay = idempotency.replay_existing(
        Contractor, lambda contractor_id: contractor_for(user, contractor_id, ResidenceRole.VIEWER))

    return await idempotency.once(request, create, replay)


async def update_contractor(
    user: User, contractor_id: object, *, name: Any = KEEP, company: Any = KEEP, phone: Any = KEEP,
    email: Any = KEEP, website: Any = KEEP, specialties: Any = KEEP, notes: Any = KEEP, favorite: Any = KEEP,
) -> Contractor:
    """Change what the client sent (EDITOR); null clears company, phone, email, website, notes and
    specialties, and leaves favorite as it is. Nothing changes unless every sent field is valid."""
    contractor = await contractor_for(user, contractor_id, ResidenceRole.EDITOR)
    errors: list[UserError] = []
    if name is not KEEP:
        contractor.name = _text(name, "name", "Name", MAX_NAME_LENGTH, errors, required=True)
    if company is not KEEP:
        contractor.company = _text(company, "company", "Company", MAX_NAME_LENGTH, errors)
    if phone is not KEEP:
        contractor.phone = _text(phone, "phone", "Phone", MAX_PHONE_LENGTH, errors)
    if email is not KEEP:
        contractor.email = _email(email, errors)
    if website is not KEEP:
        contractor.website = _website(website, errors)
    if notes is not KEEP:
        contractor.notes = _text(notes, "notes", "Notes", MAX_NOTES_LENGTH, errors)
    if specialties is not KEEP:
        contractor.specialties = _specialties(specialties or [], errors)
    if favorite is not KEEP and favorite is not None:
        contractor.favorite = favorite
    if errors:
        raise InputRejected(*errors)
    for column, value in search_columns(contractor.name, contractor.company, contractor.specialties).items():
        setattr(contractor, column, value)
    await contractor.save()
    return contractor


async def delete_contractor(user: User, contractor_id: object) -> Contractor:
    """Delete a contractor (EDITOR); the tasks and completions that named it keep going without it (the
    foreign keys are ON DELETE SET NULL)."""
    contractor = await contractor_for(user, contractor_id, ResidenceRole.EDITOR)
    await contractor.delete()
    return contractor
