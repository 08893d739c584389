"""What administrators do to accounts and jobs: each action is checked, done, and written to the audit log.

The audit entry is written in the same transaction as the change where there is one, so the log never
shows an action that did not happen, nor misses one that did. The caller has been checked to be an admin
(``resolvers.admin.require_admin``) before anything here runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from honeydue import clock, jobs
from honeydue.errors import NotFound
from honeydue.models import AuditEntry, AuthToken, User
from honeydue.settings import Settings
from honeydue.tokens import revoke_all_tokens
from honeydue.user_errors import UserErrorCode, reject
from resolvers.account_links import send_password_reset
from resolvers.accounts import remove_user
from resolvers.ids import as_id

log = logging.getLogger(__name__)

MAX_REASON_LENGTH = 500


async def audit(actor: User, action: str, target_type: str, target_id: object | None,
                reason: str | None = None, **details: Any) -> AuditEntry:
    """Write one entry of the audit log (inside the caller's transaction, when there is one)."""
    return await AuditEntry.create(actor_id=actor.id, action=action, target_type=target_type,
                                   target_id=None if target_id is None else str(target_id), reason=reason,
                                   details=details)


def check_reason(reason: str | None) -> str | None:
    """The reason trimmed (blank is none); INVALID_INPUT on ``reason`` past 500 characters."""
    if reason is None or not reason.strip():
        return None
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise reject(UserErrorCode.INVALID_INPUT, f"A reason is at most {MAX_REASON_LENGTH} characters.", "reason")
    return reason


async def target_user(user_id: object) -> User:
    """The user an action is about; NOT_FOUND (top level) for a missing or malformed ID."""
    user = await User.get_or_none(id=as_id(user_id))
    if user is None:
        raise NotFound()
    return user


async def _refuse_losing_last_admin(user: User, what: str) -> None:
    """LAST_ADMIN when ``user`` is the only admin who can sign in. Call it inside the change's transaction.

    The active admins' rows are locked (FOR UPDATE on PostgreSQL; SQLite runs one writer at a time), so two
    admins demoting each other at once cannot both pass the check: the second waits, then sees the first's
    change.
    """
    # Whole rows: Tortoise drops FOR UPDATE from a values_list query.
    active = {str(row.id) for row in await User.filter(is_admin=True, disabled=False).select_for_update()}
    if str(user.id) in active and len(active) == 1:
        raise reject(UserErrorCode.LAST_ADMIN, f"{user.email} is the last admin who can sign in; {what}.",
                     "userId")


async def set_user_disabled(actor: User, user_id: object, disabled: bool, reason: str | None) -> User:
    """Disable (no sign-in, every session ended, tokens refused) or enable an account."""
    reason = check_reason(reason)
    user = await target_user(user_id)
    if disabled and user.id == actor.id:
        raise reject(UserErrorCode.INVALID_INPUT, "You cannot disable your own account.", "userId")
    async with in_transaction():
        if disabled:
            await _refuse_losing_last_admin(user, "make another admin first")
        user.disabled = disabled
        user.disabled_reason = reason if disabled else None
        user.disabled_at = clock.utc_now() if disabled else None
        await user.save(update_fields=["disabled", "disabled_reason", "disabled_at"])
        # Ended rather than only refused: enabling the account again must not bring old sessions back.
        ended = await revoke_all_tokens(user.id) if disabled else 0
        await audit(actor, "adminSetUserDisabled", "User", user.id, reason, disabled=disabled,
                    email=user.email, sessions_ended=ended)
    return user


async def send_reset(actor: User, settings: Settings, user_id: object) -> User:
    """Email the user a password-reset link, as ``requestPasswordReset`` would (no rate limit: admins only)."""
    user = await target_user(user_id)
    # Not one transaction: the email's job may run (in-process, at once) before a transaction would commit.
    await audit(actor, "adminSendPasswordReset", "User", user.id, email=user.email)
    await send_password_reset(settings, user.email)
    return user


async def revoke_sessions(actor: User, user_id: object) -> int:
    """End every live session of the user; how many ended."""
    user = await target_user(user_id)
    async with in_transaction():
        ended = await revoke_all_tokens(user.id)
        await audit(actor, "adminRevokeSessions", "User", user.id, email=user.email, sessions_ended=ended)
    return ended


async def set_admin(actor: User, settings: Settings, user_id: object, admin: bool) -> User:
    """Make the user an admin or not; the last admin who can sign in stays one."""
    user = await target_user(user_id)
    async with in_transaction():
        if not admin:
            await _refuse_losing_last_admin(user, "make another admin first")
        user.is_admin = admin
        await user.save(update_fields=["is_admin"])
        if admin:
            # Sessions issued before the promotion end within ADMIN_TOKEN_TTL_HOURS too.
            cap = clock.utc_now() + timedelta(hours=settings.admin_token_ttl_hours)
            await AuthToken.filter(user_id=user.id, revoked_at=None, expires_at__gt=cap).update(expires_at=cap)
        await audit(actor, "adminSetAdmin", "User", user.id, admin=admin, email=user.email)
    return user


async def delete_user(actor: User, user_id: object, reason: str | None) -> None:
    """Delete the account exactly as ``deleteAccount`` does (rows now, files by the durable purge)."""
    reason = check_reason(reason)
    user = await target_user(user_id)
    if user.id == actor.id:
        raise reject(UserErrorCode.INVALID_INPUT, "Delete your own account with deleteAccount.", "userId")

    async def record() -> None:
        await _refuse_losing_last_admin(user, "make another admin first")
        await audit(actor, "adminDeleteUser", "User", user.id, reason, email=user.email)

    await remove_user(user, before_delete=record)


async def run_job(actor: User, known: dict[str, str], name: str) -> bool:
    """Send the periodic job ``name`` now (``known``: job name -> actor name); whether it was queued.

    In the embedded ``honeydue serve`` the in-process worker runs it; otherwise a worker picks it up.
    """
    name = name.strip()
    if name not in known:
        raise reject(UserErrorCode.UNKNOWN_JOB, f"There is no periodic job named {name[:64]!r}.", "name")
    queued = jobs.enqueue(known[name])
    await audit(actor, "adminRunJob", "Job", name, queued=queued)
    return queued
