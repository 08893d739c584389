"""Accounts in GraphQL: the User type, ``me``, and the account mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.user_errors import InputRejected
from resolvers import accounts
from schema.common import UserError, user_errors
from schema.context import Context
from schema.media import Media, load_media

if TYPE_CHECKING:
    from schema.notifications import NotificationPreference


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    display_name: str
    is_admin: bool
    created_at: datetime
    _row: strawberry.Private[models.User]

    @strawberry.field
    async def avatar(self, info: Info[Context, None]) -> Media | None:
        return await load_media(info.context, self._row.avatar_id)

    @strawberry.field(description="Per notification type: on/off and hour of day. Only the user (or an admin).")
    async def notification_preferences(
        self, info: Info[Context, None]
    ) -> list[Annotated[NotificationPreference, strawberry.lazy("schema.notifications")]]:
        from schema.notifications import preferences_of

        return await preferences_of(info.context, self._row)

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            display_name=row.display_name,
            is_admin=row.is_admin,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.input
class RegisterInput:
    email: str
    password: str
    display_name: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class UpdateProfileInput:
    display_name: str | None = None
    avatar_id: strawberry.ID | None = None


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class DeleteAccountInput:
    password: str


@strawberry.type
class AuthPayload:
    token: str | None = None
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OkPayload:
    ok: bool
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# API.md names every payload after its mutation.
@strawberry.type
class RegisterPayload(AuthPayload):
    pass


@strawberry.type
class LoginPayload(AuthPayload):
    pass


@strawberry.type
class LogoutPayload(OkPayload):
    pass


@strawberry.type
class UpdateProfilePayload(UserPayload):
    pass


@strawberry.type
class ChangePasswordPayload(OkPayload):
    pass


@strawberry.type
class DeleteAccountPayload(OkPayload):
    pass


def parse_id(value: str | None, field: str) -> uuid.UUID | None:
    """An ID argument as a UUID; a malformed one is a user error on ``field``."""
    from honeydue.user_errors import UserErrorCode, reject

    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise reject(UserErrorCode.NOT_FOUND, "No such object.", field) from None


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.")
    def me(self, info: Info[Context, None]) -> User:
        return User.from_row(info.context.require_user())


@strawberry.type
class AccountMutation:
    @strawberry.mutation
    async def register(self, info: Info[Context, None], input: RegisterInput) -> RegisterPayload:
        try:
            session = await accounts.register(
                info.context.settings, input.email, input.password, input.display_name
            )
        except InputRejected as rejected:
            return RegisterPayload(user_errors=user_errors(rejected.errors))
        return RegisterPayload(token=session.token, user=User.from_row(session.user))

    @strawberry.mutation
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        ctx = info.context
        try:
            session = await accounts.login(ctx.settings, ctx.rate_limiter, ctx.client_ip, input.email,
                                           input.password)
        except InputRejected as rejected:
            return LoginPayload(user_errors=user_errors(rejected.errors))
        return LoginPayload(token=session.token, user=User.from_row(session.user))

    @strawberry.mutation
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        ctx.require_user()
        await accounts.logout(ctx.token or "")
        return LogoutPayload(ok=True)

    @strawberry.mutation
    async def update_profile(self, info: Info[Context, None], input: UpdateProfileInput) -> UpdateProfilePayload:
        user = info.context.require_user()
        try:
            avatar_id = parse_id(input.avatar_id, "avatarId")
            user = await accounts.update_profile(user, info.context.storage, input.display_name, avatar_id)
        except InputRejected as rejected:
            return UpdateProfilePayload(user_errors=user_errors(rejected.errors))
        return UpdateProfilePayload(user=User.from_row(user))

    @strawberry.mutation
    async def change_password(self, info: Info[Context, None], input: ChangePasswordInput) -> ChangePasswordPayload:
        ctx = info.context
        try:
            await accounts.change_password(ctx.require_user(), ctx.token, input.current_password,
                                           input.new_password)
        except InputRejected as rejected:
            return ChangePasswordPayload(ok=False, user_errors=user_errors(rejected.errors))
        return ChangePasswordPayload(ok=True)

    @strawberry.mutation
    async def delete_account(self, info: Info[Context, None], input: DeleteAccountInput) -> DeleteAccountPayload:
        try:
            await accounts.delete_account(info.context.require_user(), input.password)
        except InputRejected as rejected:
            return DeleteAccountPayload(ok=False, user_errors=user_errors(rejected.errors))
        return DeleteAccountPayload(ok=True)
