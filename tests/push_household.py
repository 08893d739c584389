"""What the push transports' end-to-end tests share: a test transport in the registry, and a household with a
task due today whose reminders the user takes at this hour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from honeydue.delivery import targets
from honeydue.delivery.devices import DEVICES
from honeydue.delivery.transport import Transport
from honeydue.models import (
    DeliveryKind,
    Membership,
    NotificationPreference,
    NotificationType,
    Residence,
    ResidenceRole,
    Task,
    TaskFrequency,
    User,
)
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings


@contextmanager
def transport_in_registry(kind: DeliveryKind, made: Transport,
                          default: Callable[[Settings], Transport]) -> Iterator[None]:
    """``made`` (aimed at a local fake) sends ``kind`` for the test; the production factory is put back after."""
    targets.register(kind, source=DEVICES, transport=lambda _s: made, preference="push")
    try:
        yield
    finally:
        targets.register(kind, source=DEVICES, transport=default, preference="push")


async def household_due_today(email: str, display_name: str, now: datetime,
                              role: ResidenceRole = ResidenceRole.OWNER) -> tuple[User, Task]:
    """A verified user, a member of one home with a weekly task due today, reminded at ``now``'s hour."""
    user = await User.create(email=email, password_hash=DUMMY_HASH, display_name=display_name,
                             email_verified=True)
    home = await Residence.create(name="Lake house", timezone="UTC")
    await Membership.create(residence=home, user=user, role=role)
    for ntype in (NotificationType.TASK_DUE_SOON, NotificationType.TASK_OVERDUE):
        await NotificationPreference.create(user=user, type=ntype, hour_of_day=now.hour)
    task = await Task.create(residence=home, title="Clean the gutters", frequency=TaskFrequency.WEEKLY,
                             due_date=now.date(), anchor_date=now.date())
    return user, task
