"""A task reminder's action links, "Done" and "Snooze 1 day": minted here, acted on by ``honeydue.action_pages``.

Each action is ``{PUBLIC_APP_URL}/actions/{token}`` (``honeydue.links.app_link``) and works without a session,
so a push notification's button, the email's button and a webhook consumer can all use it. The token follows the
account links' rules (``honeydue.account_tokens``): 256 random bits, URL-safe, only its SHA-256 stored, used at
most once (a guarded update, so of two requests racing with one link exactly one acts), and bound to one user,
one task and one action.

Lifetime: ``ACTION_TTL`` (7 days), and never past the occurrence it was made for. Seven days because a reminder
read late (after a weekend or a week away) should still work, while a link in an old inbox or a push history
should not stay a live credential for good; the reminder schedule has sent a newer reminder with fresh links
long before (overdue reminders come on days 1, 2, 3 and then every 3 days). A token also records the task's due
date when it was minted: once the task moved on (someone completed or skipped it) the link answers 410 rather
than completing the next occurrence, so "Done" on a stale reminder can never count twice.

Links are minted per message: each channel asks for its own pair, and minting never voids earlier pairs (the
push and the email of one reminder are both live; whichever is used first completes the task, and the other
then finds the task moved on).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta

from honeydue import clock
from honeydue.delivery.message import Action
from honeydue.links import app_link
from honeydue.models import (
    ROLE_RANK,
    ActionToken,
    Membership,
    NotificationAction,
    NotificationType,
    ResidenceRole,
    Task,
)
from honeydue.settings import Settings, get_settings

ACTION_TTL = timedelta(days=7)
# How long an expired link's row is kept (so it still answers "expired", 410) before the clean-up deletes it.
KEEP_EXPIRED = timedelta(days=7)
ACTIONS_PATH = "/actions"
# secrets.token_urlsafe(32): 43 characters of [A-Za-z0-9_-], 256 bits of randomness.
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
# Who may use the links: the role completeTask and snoozeTask need.
ACTING_ROLE = ResidenceRole.EDITOR

TITLES: dict[NotificationAction, str] = {
    NotificationAction.DONE: "Done",
    NotificationAction.SNOOZE: "Snooze 1 day",
}
SNOOZE_DAYS = 1
# The notifications that carry actions: reminders about a task. Warranty reminders and the rest carry none.
TASK_REMINDER_TYPES = frozenset({NotificationType.TASK_DUE_SOON, NotificationType.TASK_OVERDUE})


def hash_action_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def action_url(settings: Settings, raw: str) -> str:
    return app_link(settings, f"{ACTIONS_PATH}/{raw}")


async def task_actions(user_id: uuid.UUID | str, task_id: uuid.UUID | str, *,
                       settings: Settings | None = None) -> tuple[Action, ...]:
    """The "Done" and "Snooze 1 day" actions of a reminder about ``task_id`` sent to ``user_id``.

    Empty when the task no longer exists or the user may not complete it (not a member, or a VIEWER): a
    button that can only fail is worse than none. ``settings`` gives ``PUBLIC_APP_URL``; callers that hold the
    process's settings (a channel, a job) pass them, else the environment's are read.
    """
    try:
        task = await Task.get_or_none(id=_as_uuid(task_id))
    except ValueError:  # not an id at all
        return ()
    if task is None:
        return ()
    membership = await Membership.get_or_none(user_id=user_id, residence_id=task.residence_id)
    if membership is None or ROLE_RANK[ResidenceRole(membership.role)] < ROLE_RANK[ACTING_ROLE]:
        return ()
    settings = settings or get_settings()
    expires_at = clock.utc_now() + ACTION_TTL
    actions: list[Action] = []
    rows: list[ActionToken] = []
    for kind in (NotificationAction.DONE, NotificationAction.SNOOZE):
        raw = secrets.token_urlsafe(TOKEN_BYTES)
        rows.append(ActionToken(user_id=user_id, task_id=task.id, action=kind, token_hash=hash_action_token(raw),
                                due_date=task.due_date, expires_at=expires_at))
        actions.append(Action(id=kind.value, title=TITLES[kind], url=action_url(settings, raw)))
    await ActionToken.bulk_create(rows)
    return tuple(actions)


async def actions_for_notification(user_id: uuid.UUID | str, notification_type: NotificationType | str,
                                   task_id: uuid.UUID | str | None, *,
                                   settings: Settings | None = None) -> tuple[Action, ...]:
    """The actions a notification carries: ``task_actions`` for a task reminder, else none. Every channel (email,
    push, webhooks, Apprise) asks here, so they agree on which notifications have buttons."""
    if task_id is None or notification_type not in TASK_REMINDER_TYPES:
        return ()
    return await task_actions(user_id, task_id, settings=settings)


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def find(raw: str) -> ActionToken | None:
    """The token ``raw`` names, used or not, with its user and task; None for one that is not ours."""
    if not TOKEN_RE.match(raw):  # not one of ours: no query
        return None
    return await ActionToken.get_or_none(token_hash=hash_action_token(raw)).select_related("user", "task")


def is_live(token: ActionToken) -> bool:
    """Unused and unexpired (by the clock seam)."""
    return token.used_at is None and token.expires_at > clock.utc_now()


async def delete_expired(now: datetime) -> int:
    """Delete links that expired over ``KEEP_EXPIRED`` before ``now`` (the ``expire_action_tokens`` job); how many.

    Until then an expired or used link still answers 410 with its reason; afterwards it is unknown (404).
    """
    return await ActionToken.filter(expires_at__lt=now - KEEP_EXPIRED).delete()


async def use(token: ActionToken) -> bool:
    """Mark ``token`` used; False when it was used meanwhile or has expired. Call inside the transaction that
    does the action, so an action that fails leaves the link usable."""
    now = clock.utc_now()
    updated = await ActionToken.filter(id=token.id, used_at=None, expires_at__gt=now).update(used_at=now)
    return updated == 1
