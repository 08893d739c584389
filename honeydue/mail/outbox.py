"""``queue_email``: the one way any part of honeydue sends an email.

It writes the ``EmailDelivery`` row first (the durable record: the delivery log, and what the sweeper re-sends
if the job message is lost), then sends the ``send_email`` job through the process's broker (``honeydue.jobs``).
With Redis a worker delivers it; without Redis the in-process worker of ``honeydue serve`` or
``honeydue jobs run`` does. Call it after the transaction that made the email necessary has committed: a job
that runs before the commit finds no row, and the email waits for the sweeper.

Who gets what: an account whose address is not verified yet gets only the kinds in ``SENT_TO_UNVERIFIED``
(verification and password reset). Non-transactional mail (reminders, onboarding) names the notification
type it belongs to: it is not queued when the user turned that type off (or its email), and it carries a one-click
unsubscribe link for that type.
"""

from __future__ import annotations

import json
import logging
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue import jobs
from honeydue.clock import utc_now
from honeydue.mail.render import known_kinds
from honeydue.models import EmailDelivery, NotificationPreference, NotificationType, User

log = logging.getLogger(__name__)

SEND_EMAIL_JOB = "send_email"
# What an unverified address may receive: the mail that proves or recovers ownership of an address
# (verification, password reset, and the confirmation sent to a new address, which verifies that one).
SENT_TO_UNVERIFIED: frozenset[str] = frozenset({"verify_email", "password_reset", "confirm_email_change"})


async def queue_email(
    *,
    to: str,
    kind: str,
    context: dict[str, object],
    user_id: UUID | None = None,
    transactional: bool = True,
    notification_type: NotificationType | None = None,
    once_key: str | None = None,
) -> None:
    """Record an email of ``kind`` to ``to`` and send the job that delivers it.

    ``context`` fills the templates (``honeydue/mail/templates/<kind>.txt`` / ``.html``); it is stored as JSON
    until the delivery ends, so values that are not JSON (dates, UUIDs) arrive in the templates as strings.
    ``app_url`` (``PUBLIC_APP_URL``) is always available to the templates. ``user_id``: the account it is
    for, if any (verification and preferences are checked against it; its deletion deletes the log rows).
    ``transactional=False`` (reminders, onboarding) needs ``user_id`` and ``notification_type``.
    ``once_key``: mail a person gets at most once names itself; a second call with the same key does nothing
    (a unique index, so racing jobs cannot both send).
    Nothing is queued (and the reason logged) when the account is gone, unverified (outside
    ``SENT_TO_UNVERIFIED``) or has turned ``notification_type`` off.
    """
    if kind not in known_kinds():
        raise ValueError(f"unknown email kind {kind!r}: add templates/{kind}.txt and templates/{kind}.html")
    if not transactional and (user_id is None or notification_type is None):
        raise ValueError("non-transactional email needs user_id and notification_type (for its unsubscribe link)")
    if user_id is not None and not await _wanted(user_id, kind, transactional, notification_type):
        return
    stored_context = json.loads(json.dumps(context, default=str))
    row_fields = dict(
        user_id=user_id, kind=kind, to=to, transactional=transactional, notification_type=notification_type,
        context=stored_context, next_attempt_at=utc_now(), once_key=once_key,
    )
    try:
        # A savepoint of its own: a duplicate once_key must not abort a transaction the caller holds.
        async with in_transaction():
            row = await EmailDelivery.create(**row_fields)
    except IntegrityError:
        if once_key is None:
            raise
        log.info("email %s not queued: %s was already sent", kind, once_key)
        return
    # A lost message is not lost mail: the sweeper re-sends rows still QUEUED (workers.mail).
    jobs.enqueue(SEND_EMAIL_JOB, str(row.id))


async def _wanted(user_id: UUID, kind: str, transactional: bool, ntype: NotificationType | None) -> bool:
    user = await User.get_or_none(id=user_id).only("id", "email_verified")
    if user is None:
        log.info("email %s not queued: user %s no longer exists", kind, user_id)
        return False
    if not user.email_verified and kind not in SENT_TO_UNVERIFIED:
        log.info("email %s not queued: user %s has not verified their address", kind, user_id)
        return False
    if not transactional:
        # The type's email choice; left null it follows the type's ``enabled``.
        chosen = await NotificationPreference.filter(user_id=user_id, type=ntype).values_list("enabled", "email")
        if chosen and not (chosen[0][0] and chosen[0][1] is not False):
            log.info("email %s not queued: user %s turned %s off (for email)", kind, user_id, ntype)
            return False
    return True
