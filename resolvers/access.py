"""Who may do what in a residence: the role checks every domain resolver starts with.

A residence the caller does not belong to answers NOT_FOUND exactly like one that does not exist, so
probing IDs reveals nothing; a member whose role is too low gets FORBIDDEN.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from honeydue.errors import Forbidden, NotFound
from honeydue.models import ROLE_RANK, Contractor, Document, Membership, ResidenceRole, Task, User
from resolvers.ids import as_id


def role_at_least(role: ResidenceRole | str, minimum: ResidenceRole) -> bool:
    return ROLE_RANK[ResidenceRole(role)] >= ROLE_RANK[minimum]


async def membership_for(user: User, residence_id: uuid.UUID) -> Membership | None:
    """The caller's membership of a residence, or None when they do not belong to it (or it does not exist)."""
    return await Membership.get_or_none(user_id=user.id, residence_id=residence_id)


async def require_role(user: User, residence_id: uuid.UUID, minimum: ResidenceRole) -> Membership:
    """The caller's membership, if their role is at least ``minimum``; NOT_FOUND for non-members, else FORBIDDEN."""
    membership = await membership_for(user, residence_id)
    if membership is None:
        raise NotFound()
    if not role_at_least(membership.role, minimum):
        raise Forbidden(f"This needs the {minimum.value} role in the residence.")
    return membership


ResidenceObject = TypeVar("ResidenceObject", Task, Document, Contractor)


async def residence_object(
    model: type[ResidenceObject], user: User, object_id: object, minimum: ResidenceRole
) -> ResidenceObject:
    """A row of ``model`` (anything that belongs to one residence) the caller may act on with ``minimum`` role.

    NOT_FOUND when there is no such row or the caller is not a member of its residence.
    """
    row = await model.get_or_none(id=as_id(object_id))
    if row is None:
        raise NotFound()
    await require_role(user, row.residence_id, minimum)
    return row


async def task_for(user: User, task_id: object, minimum: ResidenceRole) -> Task:
    return await residence_object(Task, user, task_id, minimum)


async def document_for(user: User, document_id: object, minimum: ResidenceRole) -> Document:
    return await residence_object(Document, user, document_id, minimum)


async def contractor_for(user: User, contractor_id: object, minimum: ResidenceRole) -> Contractor:
    return await residence_object(Contractor, user, contractor_id, minimum)
