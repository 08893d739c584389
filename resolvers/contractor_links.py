"""The contractor a task or a completion names: one of the same residence's contractors, or none.

Apart from ``resolvers.contractors`` so that ``resolvers.tasks`` can use it without importing that module,
which takes ``KEEP`` from ``resolvers.tasks``.
"""

from __future__ import annotations

import uuid

from honeydue.models import Contractor
from honeydue.user_errors import UserErrorCode, reject
from resolvers.ids import reference_id


async def linked_contractor(residence_id: uuid.UUID, contractor_id: object) -> uuid.UUID | None:
    """The contractor a task or completion names (``contractorId``), which must be of the same residence.

    ``None`` clears the link; an ID of another residence's contractor, of none, or a malformed one is an
    INVALID_INPUT error on ``contractorId``.
    """
    if contractor_id is None:
        return None
    wanted = reference_id(contractor_id)
    if not await Contractor.filter(id=wanted, residence_id=residence_id).exists():
        raise reject(UserErrorCode.INVALID_INPUT, "The contractor must be one of this residence's contractors.",
                     "contractorId")
    return wanted
