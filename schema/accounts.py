"""Accounts in GraphQL: the User type, ``me``, and the account mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from resolvers import accounts
from resolvers.ids import reference_id
from schema.context import Context
from schema.media import Media, load_media
from schema.mutation import OkResult, mutation

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
class AuthResult:
    token: str | None = None
    user: User | None = None


@strawberry.type
class UserResult:
    user: User | None = None


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.")
    def me(self, info: Info[Context, None]) -> User:
        return User.from_row(info.context.require_user())


@strawberry.type
class AccountMutation:
    @mutation(public=True)
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthResult:
        session = await accounts.register(info.context.settings, input.email, input.password, input.display_name)
        return AuthResult(token=session.token, user=User.from_row(session.user))

    @mutation(public=True)
    async def login(self, info: Info[Context, None], input: LoginInput) -> AuthResult:
        ctx = info.context
        session = await accounts.login(ctx.settings, ctx.rate_limiter, ctx.client_ip, input.email, input.password)
        return AuthResult(token=session.token, user=User.from_row(session.user))

    @mutation()
    async def logout(self, info: Info[Context, None]) -> OkResult:
        await accounts.logout(info.context.token or "")
        return OkResult(ok=True)

    @mutation()
    async def update_profile(self, info: Info[Context, None], input: UpdateProfileInput) -> UserResult:
        ctx = info.context
        avatar_id = None if input.avatar_id is None else reference_id(input.avatar_id)
        user = await accounts.update_profile(ctx.require_user(), ctx.storage, input.display_name, avatar_id)
        return UserResult(user=User.from_row(user))

    @mutation()
    async def change_password(self, info: Info[Context, None], input: ChangePasswordInput) -> OkResult:
        ctx = info.context
        await accounts.change_password(ctx.require_user(), ctx.token, input.current_password, input.new_password)
        return OkResult(ok=True)

    @mutation()
    async def delete_account(self, info: Info[Context, None], input: DeleteAccountInput) -> OkResult:
        await accounts.delete_account(info.context.require_user(), input.password)
        return OkResult(ok=True)
