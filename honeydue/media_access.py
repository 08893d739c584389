"""Who may read a media row: one rule for the API (``media(id)``, ``Media.url``) and the gateway's bearer reads."""

from __future__ import annotations

from honeydue.models import Media, Membership, User
from honeydue.models.enums import MediaPurpose


async def user_may_read(user: User, media: Media) -> bool:
    """The owner; any member of the media's residence; for an avatar, anyone sharing a residence with its owner."""
    if media.owner_id is not None and media.owner_id == user.id:
        return True
    if media.residence_id is not None and await Membership.exists(
        residence_id=media.residence_id, user_id=user.id
    ):
        return True
    if media.purpose == MediaPurpose.AVATAR and media.owner_id is not None:
        owner_residences = Membership.filter(user_id=media.owner_id).values_list("residence_id", flat=True)
        return await Membership.exists(user_id=user.id, residence_id__in=await owner_residences)
    return False
