"""The admin console's actions: each an ``admin…`` mutation, FORBIDDEN (top level) to anyone but an admin, and
each written to the audit log (``resolvers.admin_actions``)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from honeydue import clock
from honeydue.models import User as UserRow
from honeydue.periodic import periodic_job_table
from resolvers import admin_actions
from resolvers.admin import require_admin
from schema.accounts import User
from schema.context import Context
from schema.mutation import OkResult, mutation

FORBIDDEN_TEXT = "FORBIDDEN unless the caller is an admin; NOT_FOUND when there is no such user."


def _admin(info: Info[Context, None]) -> UserRow:
    return require_admin(info.context.require_user())


@strawberry.input(description="Whom to disable or enable, and why.")
class AdminSetUserDisabledInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    disabled: bool = strawberry.field(description="True to disable the account, false to enable it again.")
    reason: str | None = strawberry.field(default=None, description="Why, for the audit log; at most 500 "
                                                                    "characters, else INVALID_INPUT.")


@strawberry.input(description="Whom to email a password-reset link.")
class AdminSendPasswordResetInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.input(description="Whose sessions to end.")
class AdminRevokeSessionsInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.input(description="Whom to make an admin, or not.")
class AdminSetAdminInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    admin: bool = strawberry.field(description="True to make them an admin, false to take it away.")


@strawberry.input(description="Whom to delete, and why.")
class AdminDeleteUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    reason: str | None = strawberry.field(default=None, description="Why, for the audit log; at most 500 "
                                                                    "characters, else INVALID_INPUT.")


@strawberry.input(description="Which periodic job to run now.")
class AdminRunJobInput:
    name: str = strawberry.field(description="The job's name, as `admin.jobs` lists it; else UNKNOWN_JOB.")


@strawberry.type
class AdminUserResult:
    user: User | None = strawberry.field(default=None, description="The user as saved.")


@strawberry.type
class RevokedResult:
    revoked_count: int = strawberry.field(default=0, description="How many sessions ended.")


@strawberry.type
class QueuedResult:
    queued: bool = strawberry.field(default=False, description="Whether the job was handed to the workers (false: "
                                                               "the broker did not take it; try again).")


@strawberry.type
class AdminMutation:
    @mutation("Disables an account (it cannot sign in, every session ends and its tokens are refused by the API and "
              "the media gateway; media links handed out before keep working until they expire), or enables it "
              "again. Audited. INVALID_INPUT for the caller's own account; LAST_ADMIN for the last admin who can "
              f"sign in. {FORBIDDEN_TEXT}")
    async def admin_set_user_disabled(self, info: Info[Context, None],
                                      input: AdminSetUserDisabledInput) -> AdminUserResult:
        user = await admin_actions.set_user_disabled(_admin(info), input.user_id, input.disabled, input.reason)
        return AdminUserResult(user=User.from_row(user))

    @mutation(f"Emails the user a password-reset link, as requestPasswordReset does. Audited. {FORBIDDEN_TEXT}")
    async def admin_send_password_reset(self, info: Info[Context, None],
                                        input: AdminSendPasswordResetInput) -> AdminUserResult:
        user = await admin_actions.send_reset(_admin(info), info.context.settings, input.user_id)
        return AdminUserResult(user=User.from_row(user))

    @mutation(f"Ends every session of the user (signs them out everywhere). Audited. {FORBIDDEN_TEXT}")
    async def admin_revoke_sessions(self, info: Info[Context, None], input: AdminRevokeSessionsInput) -> RevokedResult:
        return RevokedResult(revoked_count=await admin_actions.revoke_sessions(_admin(info), input.user_id))

    @mutation("Makes the user an admin (their sessions then end within ADMIN_TOKEN_TTL_HOURS), or takes it away. "
              f"Audited. LAST_ADMIN for the last admin who can sign in. {FORBIDDEN_TEXT}")
    async def admin_set_admin(self, info: Info[Context, None], input: AdminSetAdminInput) -> AdminUserResult:
        user = await admin_actions.set_admin(_admin(info), info.context.settings, input.user_id, input.admin)
        return AdminUserResult(user=User.from_row(user))

    @mutation("Deletes the account exactly as deleteAccount does: its rows now, the residences only they belong "
              "to, their files by a durable purge. Audited. INVALID_INPUT for the caller's own account (use "
              f"deleteAccount); LAST_ADMIN for the last admin. {FORBIDDEN_TEXT}")
    async def admin_delete_user(self, info: Info[Context, None], input: AdminDeleteUserInput) -> OkResult:
        await admin_actions.delete_user(_admin(info), input.user_id, input.reason)
        return OkResult(ok=True)

    @mutation("Sends a periodic job now, outside its schedule (honeydue serve runs it in process). Audited. "
              "FORBIDDEN unless the caller is an admin.")
    async def admin_run_job(self, info: Info[Context, None], input: AdminRunJobInput) -> QueuedResult:
        actor = _admin(info)
        known = {job.name: job.actor_name
                 for job in periodic_job_table(info.context.settings, clock.utc_now())}
        return QueuedResult(queued=await admin_actions.run_job(actor, known, input.name))
