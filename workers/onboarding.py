"""The daily onboarding emails: welcome, add your home, add your first task.

* ``welcome``: to a user whose address was verified (it comes from this job, not at the moment of
  verification, so a user who verifies at 3 am is not woken by it).
* ``add_home``: 2 days after sign-up, to a user who belongs to no residence.
* ``add_first_task``: 5 days after sign-up, to a user who sees no task in any of their residences.

Each goes to a verified user only, at most once: ``queue_email``'s ``once_key`` (``<kind>:<user id>``) is a
unique column of the delivery log, so a second run, a retried job or two racing workers cannot send it twice.
The notification type ``ONBOARDING`` governs all three: turned off (in the preferences, or with the one-click
unsubscribe link each one carries) means none is sent. A user is considered for ``CATCH_UP`` after the day
they qualify, so a run missed in an outage is caught up by the next one, while accounts that qualified long
before (say, before this job existed) are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from honeydue.mail.outbox import queue_email
from honeydue.models import EmailDelivery, Membership, NotificationType, Task, User

log = logging.getLogger(__name__)

WELCOME = "welcome"
ADD_HOME = "add_home"
ADD_FIRST_TASK = "add_first_task"
ADD_HOME_AFTER = timedelta(days=2)
ADD_FIRST_TASK_AFTER = timedelta(days=5)
CATCH_UP = timedelta(days=7)
PAGE_SIZE = 500


@dataclass
class OnboardingReport:
    # Users each kind was offered to this run (queue_email may still skip one that turned ONBOARDING off).
    offered: dict[str, int] = field(default_factory=lambda: {WELCOME: 0, ADD_HOME: 0, ADD_FIRST_TASK: 0})


def once_key(kind: str, user: User) -> str:
    return f"{kind}:{user.id}"


def _not_yet_sent(query: QuerySet[User], kind: str) -> QuerySet[User]:
    # Only spares the queries; the unique once_key is what guarantees "at most once".
    already = EmailDelivery.filter(kind=kind, once_key__isnull=False, user_id__isnull=False).values("user_id")
    return query.filter(email_verified=True).exclude(id__in=Subquery(already))


def _welcome(now: datetime) -> QuerySet[User]:
    return _not_yet_sent(User.filter(email_verified_at__lte=now, email_verified_at__gt=now - CATCH_UP), WELCOME)


def _signed_up_between(after: timedelta, now: datetime) -> QuerySet[User]:
    return User.filter(created_at__lte=now - after, created_at__gt=now - after - CATCH_UP)


def _add_home(now: datetime) -> QuerySet[User]:
    homeowners = Membership.all().values("user_id")
    return _not_yet_sent(_signed_up_between(ADD_HOME_AFTER, now).exclude(id__in=Subquery(homeowners)), ADD_HOME)


def _add_first_task(now: datetime) -> QuerySet[User]:
    with_tasks = Membership.filter(residence_id__in=Subquery(Task.all().values("residence_id"))).values("user_id")
    query = _signed_up_between(ADD_FIRST_TASK_AFTER, now).exclude(id__in=Subquery(with_tasks))
    return _not_yet_sent(query, ADD_FIRST_TASK)


async def send_onboarding_emails(now: datetime) -> OnboardingReport:
    """Queue each onboarding email due at ``now`` (a daily run); returns how many users each was offered to."""
    report = OnboardingReport()
    for kind, query in ((WELCOME, _welcome(now)), (ADD_HOME, _add_home(now)), (ADD_FIRST_TASK, _add_first_task(now))):
        last = None
        while True:
            page_query = query.order_by("id").limit(PAGE_SIZE)
            if last is not None:
                page_query = page_query.filter(id__gt=last)
            page = await page_query.only("id", "email", "display_name")
            if not page:
                break
            for user in page:
                await queue_email(
                    to=user.email, kind=kind, context={"display_name": user.display_name}, user_id=user.id,
                    transactional=False, notification_type=NotificationType.ONBOARDING,
                    once_key=once_key(kind, user),
                )
                report.offered[kind] += 1
            last = page[-1].id
    log.info("onboarding emails offered: %s", report.offered)
    return report
