"""Acting on a notification's action link: "Done" completes the task, "Snooze 1 day" holds its reminders back.

The link (``honeydue.notification_actions``) is the whole authorisation: whoever holds it acts as the user it was
minted for, once. The work goes through the very functions the GraphQL mutations call (``complete_task``,
``snooze_task``), so the role check (EDITOR), the completion record, the next due date, the rotation and the
snooze rules are the same. The token is marked used in the transaction that does the work: a refused action
(the member lost their role, the task was cancelled) leaves the link as it was, and a replay after a success
finds it used (410).

Every refusal is an ``ActionRefused`` with an HTTP status and a message a person can read, for the page and
the JSON answer alike (``honeydue.action_pages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from honeydue import notification_actions
from honeydue.errors import Forbidden, NotFound
from honeydue.models import ActionToken, NotificationAction, Residence, ResidenceRole, Task
from honeydue.schedule import local_today
from honeydue.user_errors import Rejection, attempt
from resolvers.access import task_for
from resolvers.tasks import complete_task, snooze_task

NOT_VALID = "This link is not valid. Open the newest reminder about the task instead."
USED = "This link was already used. Each reminder's buttons work once."
EXPIRED = "This link has expired. Open the newest reminder about the task instead."
MOVED_ON = "This reminder is out of date: the task was completed, skipped or changed since it was sent."
NOT_ALLOWED = "You can no longer do this: you need the EDITOR role in the task's home."


class ActionRefused(Exception):
    """Why a link does nothing: ``status`` 404 (not a link of ours), 410 (used, expired or out of date), 403 (the
    user may no longer act) or 409 (the task refuses the action as it stands)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Pending:
    """A live link, as its confirmation page shows it (nothing done yet)."""

    action: NotificationAction
    task: Task
    residence: Residence


@dataclass(frozen=True)
class Acted:
    """What a used link did."""

    action: NotificationAction
    task: Task  # as it is now: the next due date after "Done"
    snoozed_until: date | None  # "Snooze": reminders resume on this residence-local date


def _moved_on(token: ActionToken, task: Task) -> bool:
    """The task is no longer at the occurrence the link was minted for (or cannot take any action now)."""
    return task.due_date != token.due_date or task.completed or task.cancelled or task.archived


def _check_live(token: ActionToken | None, now: datetime) -> ActionToken:
    if token is None:
        raise ActionRefused(404, "not_valid", NOT_VALID)
    if token.used_at is not None:
        raise ActionRefused(410, "used", USED)
    if token.expires_at <= now:
        raise ActionRefused(410, "expired", EXPIRED)
    return token


async def pending(raw: str, now: datetime) -> Pending:
    """The live link ``raw`` for its confirmation page; it is not used up. ``ActionRefused`` otherwise."""
    token = _check_live(await notification_actions.find(raw), now)
    if _moved_on(token, token.task):
        raise ActionRefused(410, "moved_on", MOVED_ON)
    try:  # no button for someone who can no longer use it
        await task_for(token.user, token.task_id, ResidenceRole.EDITOR)
    except (NotFound, Forbidden):
        raise ActionRefused(403, "not_allowed", NOT_ALLOWED) from None
    return Pending(token.action, token.task, await Residence.get(id=token.task.residence_id))


async def act(raw: str, now: datetime) -> Acted:
    """Do what the link ``raw`` says, as its user, once. ``ActionRefused`` when it does nothing."""
    token = _check_live(await notification_actions.find(raw), now)
    try:
        async with in_transaction():
            if not await notification_actions.use(token):  # a concurrent request used it first, or it expired
                raise ActionRefused(410, "used", USED)
            # Locked, so of two links of one reminder (the push's and the email's "Done") used at once, the
            # second waits here and then finds the task moved on instead of completing the next occurrence.
            task = await Task.filter(id=token.task_id).select_for_update().first()
            if task is None:
                raise ActionRefused(404, "not_valid", NOT_VALID)
            if _moved_on(token, task):
                raise ActionRefused(410, "moved_on", MOVED_ON)
            outcome = await attempt(_do(token, task, now))
            if isinstance(outcome, Rejection):  # raised inside the transaction: the link stays unused
                raise ActionRefused(409, "refused", outcome.errors[0].message)
            return outcome
    except (NotFound, Forbidden):
        # task_for: no longer a member (NOT_FOUND) or no longer an editor (FORBIDDEN).
        raise ActionRefused(403, "not_allowed", NOT_ALLOWED) from None


async def _do(token: ActionToken, task: Task, now: datetime) -> Acted:
    if token.action == NotificationAction.DONE:
        _, task = await complete_task(token.user, task.id, completed_at=None, notes=None, cost_cents=None,
                                      photo_ids=[], now=now)
        return Acted(token.action, task, None)
    residence = await Residence.get(id=task.residence_id)
    until = local_today(residence.timezone, now) + timedelta(days=notification_actions.SNOOZE_DAYS)
    task = await snooze_task(token.user, task.id, until, now)
    return Acted(token.action, task, until)
