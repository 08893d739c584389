"""Accounts in GraphQL: the User type, ``me``, and the account mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from resolvers import account_links, accounts, calendar
from resolvers.ids import reference_id
from schema.calendar import FEED_URL_DESCRIPTION
from schema.common import FromRow
from schema.context import Context
from schema.media import Media, load_media
from schema.mutation import OkResult, mutation

if TYPE_CHECKING:
    from schema.data_exports import DataExport
    from schema.devices import Device
    from schema.notification_channels import NotificationChannel
    from schema.notifications import NotificationPreference
    from schema.sessions import Session


@strawberry.type(description="A person with an account. Co-members of a residence see each other.")
class User(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    email: str = strawberry.field(description="Sign-in address, lower-cased; unique.")
    email_verified: bool = strawberry.field(
        description="Whether the user confirmed `email` from the link of a verification email (or completed a "
                    "password reset, or confirmed a change of address). Until then the app works, but the only "
                    "emails sent are verification and password-reset ones.")
    display_name: str = strawberry.field(description="Name shown to co-members, 1 to 100 characters.")
    is_admin: bool = strawberry.field(description="Whether the user may use `admin`.")
    disabled: bool = strawberry.field(
        description="Whether an administrator disabled the account (adminSetUserDisabled): it cannot sign in and "
                    "its tokens are refused; media links handed out before keep working until they expire.")
    created_at: datetime = strawberry.field(description="When the account was registered.")
    _row: strawberry.Private[models.User]

    @strawberry.field(description="Profile picture (a READY AVATAR upload); null when none is set.")
    async def avatar(self, info: Info[Context, None]) -> Media | None:
        return await load_media(info.context, self._row.avatar_id)

    @strawberry.field(description="Per notification type: on/off and hour of day, every type listed. FORBIDDEN "
                                  "for anyone but the user and admins.")
    async def notification_preferences(
        self, info: Info[Context, None]
    ) -> list[Annotated[NotificationPreference, strawberry.lazy("schema.notifications")]]:
        from schema.notifications import preferences_of

        return await preferences_of(info.context, self._row)

    @strawberry.field(description="The user's live sessions (signed-in clients: neither revoked nor expired), "
                                  "newest first, at most the 100 most recent. Only the user (or an admin); "
                                  "anyone else gets FORBIDDEN.")
    async def sessions(self, info: Info[Context, None]) -> list[Annotated[Session, strawberry.lazy("schema.sessions")]]:
        from schema.sessions import sessions_of

        return await sessions_of(info.context, self._row)

    @strawberry.field(description="The devices push notifications go to (registerDevice), most recently seen first, "
                                  "at most 20; a device the push service reported gone is not listed. Only the user "
                                  "(or an admin); anyone else gets FORBIDDEN.")
    async def devices(self, info: Info[Context, None]) -> list[Annotated[Device, strawberry.lazy("schema.devices")]]:
        from schema.devices import devices_of

        return await devices_of(info.context, self._row)

    @strawberry.field(description=FEED_URL_DESCRIPTION)
    async def calendar_feed_url(self, info: Info[Context, None]) -> str:
        ctx = info.context
        return await calendar.feed_url(ctx.settings, ctx.require_user(), self._row)

    @strawberry.field(description="The user's webhook and Apprise channels (addNotificationChannel), oldest first, "
                                  "at most 20. FORBIDDEN for anyone but the user.")
    async def notification_channels(
        self, info: Info[Context, None]
    ) -> list[Annotated[NotificationChannel, strawberry.lazy("schema.notification_channels")]]:
        from schema.notification_channels import channels_of

        return await channels_of(info.context, self._row)

    @strawberry.field(description="The user's data exports (requestDataExport), newest first, at most 50. FORBIDDEN "
                                  "for anyone but the user.")
    async def data_exports(
        self, info: Info[Context, None]
    ) -> list[Annotated[DataExport, strawberry.lazy("schema.data_exports")]]:
        from schema.data_exports import exports_of

        return await exports_of(info.context, self._row)


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in address, at most 254 characters; case and surrounding "
                                              "spaces are ignored. INVALID_EMAIL, or EMAIL_TAKEN when in use.")
    password: str = strawberry.field(description="10 to 256 characters, at least 4 different ones, not the email "
                                                 "address; else WEAK_PASSWORD.")
    display_name: str = strawberry.field(description="1 to 100 characters after trimming; else INVALID_INPUT.")


@strawberry.input(description="Credentials of an existing account.")
class LoginInput:
    email: str = strawberry.field(description="The account's email address (any case).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="Only the fields sent change.")
class UpdateProfileInput:
    display_name: str | None = strawberry.field(
        default=None, description="New display name, 1 to 100 characters after trimming; else INVALID_INPUT.")
    avatar_id: strawberry.ID | None = strawberry.field(
        default=None, description="A READY file the caller uploaded with purpose AVATAR (else MEDIA_NOT_ALLOWED, "
                                  "or MEDIA_NOT_READY); the avatar it replaces is deleted.")


@strawberry.input(description="The current password, to confirm, and the new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now; else WRONG_PASSWORD.")
    new_password: str = strawberry.field(description="10 to 256 characters, at least 4 different ones, not the "
                                                     "email address; else WEAK_PASSWORD.")


@strawberry.input(description="The password, to confirm the deletion.")
class DeleteAccountInput:
    password: str = strawberry.field(description="The account's password; else WRONG_PASSWORD.")


@strawberry.input(description="The address of the account whose password was forgotten.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's email address (any case); INVALID_EMAIL when it is "
                                              "not an address. Whether an account uses it is never said.")


@strawberry.input(description="The token of a password-reset link, and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token` query parameter of the emailed link "
                                              "(`/account/reset-password?token=…`); INVALID_TOKEN when it is "
                                              "unknown, expired (1 hour unless configured) or already used.")
    new_password: str = strawberry.field(description="10 to 256 characters, at least 4 different ones, not the "
                                                     "email address; else WEAK_PASSWORD (the link stays usable).")


@strawberry.input(description="The token of an address-verification link.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The `token` query parameter of the emailed link "
                                              "(`/account/verify-email?token=…`); INVALID_TOKEN when it is "
                                              "unknown, expired (48 hours unless configured), already used or "
                                              "replaced by a newer link.")


@strawberry.input(description="The address to move the account to, and the password to confirm.")
class RequestEmailChangeInput:
    new_email: str = strawberry.field(description="The new sign-in address, at most 254 characters; "
                                                  "INVALID_EMAIL, EMAIL_TAKEN, or INVALID_INPUT when it is the "
                                                  "current one.")
    password: str = strawberry.field(description="The account's password; else WRONG_PASSWORD.")


@strawberry.input(description="The token of a change-of-address confirmation link.")
class ConfirmEmailChangeInput:
    token: str = strawberry.field(description="The `token` query parameter of the link emailed to the new "
                                              "address (`/account/confirm-email?token=…`); INVALID_TOKEN when it "
                                              "is unknown, expired (48 hours unless configured), already used or "
                                              "replaced by a newer request.")


@strawberry.type
class AuthResult:
    token: str | None = strawberry.field(
        default=None, description="Bearer token for the `Authorization: Bearer <token>` header; valid 30 days "
                                  "unless configured, until logout or a password change.")
    user: User | None = strawberry.field(default=None, description="The signed-in user.")


@strawberry.type
class UserResult:
    user: User | None = strawberry.field(default=None, description="The user as saved.")


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user. UNAUTHENTICATED without a valid token.")
    def me(self, info: Info[Context, None]) -> User:
        return User.from_row(info.context.require_user())


@strawberry.type
class AccountMutation:
    @mutation("Creates an account and signs it in. Needs no token. Emails a link that verifies the address "
              "(`/account/verify-email`, valid 48 hours unless configured).", public=True)
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthResult:
        ctx = info.context
        session = await account_links.register(ctx.settings, ctx.rate_limiter, ctx.client_ip, input.email,
                                               input.password, input.display_name, ctx.session_origin())
        return AuthResult(token=session.token, user=User.from_row(session.user))

    @mutation("Signs in and returns a new token. Needs no token. RATE_LIMITED after too many attempts.",
              public=True)
    async def login(self, info: Info[Context, None], input: LoginInput) -> AuthResult:
        ctx = info.context
        session = await accounts.login(ctx.settings, ctx.rate_limiter, ctx.client_ip, input.email, input.password,
                                       ctx.session_origin())
        return AuthResult(token=session.token, user=User.from_row(session.user))

    @mutation("Ends the session of the token sent; the user's other sessions stay.")
    async def logout(self, info: Info[Context, None]) -> OkResult:
        await accounts.logout(info.context.token or "")
        return OkResult(ok=True)

    @mutation("Changes the caller's display name or avatar.")
    async def update_profile(self, info: Info[Context, None], input: UpdateProfileInput) -> UserResult:
        ctx = info.context
        avatar_id = None if input.avatar_id is None else reference_id(input.avatar_id)
        user = await accounts.update_profile(ctx.require_user(), ctx.storage, input.display_name, avatar_id)
        return UserResult(user=User.from_row(user))

    @mutation("Changes the caller's password. Every other session ends; the one that made the change stays.")
    async def change_password(self, info: Info[Context, None], input: ChangePasswordInput) -> OkResult:
        ctx = info.context
        await accounts.change_password(ctx.require_user(), ctx.token, input.current_password, input.new_password)
        return OkResult(ok=True)

    @mutation("Deletes the caller's account now, with the residences only they belong to and their files. A "
              "residence they owned with others passes to its longest-standing, highest-ranked member.")
    async def delete_account(self, info: Info[Context, None], input: DeleteAccountInput) -> OkResult:
        await accounts.delete_account(info.context.require_user(), input.password)
        return OkResult(ok=True)

    @mutation("Emails a password-reset link (`/account/reset-password`, valid 1 hour unless configured, usable "
              "once) to the address if an account uses it; a newer request voids older links. Needs no token. "
              "Answers the same whether or not the account exists. RATE_LIMITED after 5 requests an hour for an "
              "address or 20 from a client.", public=True)
    async def request_password_reset(self, info: Info[Context, None], input: RequestPasswordResetInput) -> OkResult:
        ctx = info.context
        await account_links.request_password_reset(ctx.settings, ctx.rate_limiter, ctx.client_ip, input.email)
        return OkResult(ok=True)

    @mutation("Sets a new password with the token of a password-reset link, and signs in: every other session "
              "ends, login lock-outs of the address are lifted, and the address counts as verified. Needs no "
              "token.", public=True)
    async def reset_password(self, info: Info[Context, None], input: ResetPasswordInput) -> AuthResult:
        ctx = info.context
        session = await account_links.reset_password_and_sign_in(ctx.settings, ctx.rate_limiter, input.token,
                                                                 input.new_password, ctx.session_origin())
        return AuthResult(token=session.token, user=User.from_row(session.user))

    @mutation("Marks the account's address verified with the token of a verification link. Needs no token.",
              public=True)
    async def verify_email(self, info: Info[Context, None], input: VerifyEmailInput) -> UserResult:
        return UserResult(user=User.from_row(await account_links.verify_email(input.token)))

    @mutation("Emails the caller a new verification link; older ones stop working. INVALID_INPUT when the "
              "address is already verified; RATE_LIMITED after 5 an hour.")
    async def resend_verification_email(self, info: Info[Context, None]) -> OkResult:
        ctx = info.context
        await account_links.resend_verification(ctx.settings, ctx.rate_limiter, ctx.require_user())
        return OkResult(ok=True)

    @mutation("Starts a change of the caller's address: emails a confirmation link to the new address "
              "(`/account/confirm-email`, valid 48 hours unless configured) and a notice to the current one. "
              "Nothing changes until `confirmEmailChange`. RATE_LIMITED after 5 an hour.")
    async def request_email_change(self, info: Info[Context, None], input: RequestEmailChangeInput) -> OkResult:
        ctx = info.context
        await account_links.request_email_change(ctx.settings, ctx.rate_limiter, ctx.require_user(),
                                                 input.new_email, input.password)
        return OkResult(ok=True)

    @mutation("Moves the account to the new address with the token of the link sent there; the new address is "
              "then verified. Needs no token.", public=True)
    async def confirm_email_change(self, info: Info[Context, None], input: ConfirmEmailChangeInput) -> UserResult:
        return UserResult(user=User.from_row(await account_links.confirm_email_change(input.token)))
