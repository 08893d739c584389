"""Notification channels in GraphQL: webhooks and Apprise URLs, their test message and delivery outcome."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.errors import Forbidden
from resolvers import notification_channels as channels
from schema.common import FromRow
from schema.context import Context
from schema.enums import DeliveryKind, DeliveryStatus, NotificationChannelKind
from schema.mutation import mutation


@strawberry.type(description="A webhook or Apprise URL the user's notifications are sent to.")
class NotificationChannel(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    kind: NotificationChannelKind = strawberry.field(description="WEBHOOK or APPRISE.")  # type: ignore[valid-type]
    name: str = strawberry.field(description="The user's name for it.")
    url_hint: str = strawberry.field(
        description="The URL's scheme and host only, e.g. `https://hooks.example.com/…` (the rest may hold a "
                    "token and is never shown again).")
    created_at: datetime = strawberry.field(description="When it was added.")
    dead_at: datetime | None = strawberry.field(
        description="When the receiver said it is gone for good (a webhook's 410); nothing is sent to it since. "
                    "Null while it is in use. Remove it and add it again to use it again.")
    dead_reason: str | None = strawberry.field(description="What the receiver answered when it went dead.")

    @strawberry.field(description="Whether notifications are sent to it (false once dead).")
    def active(self) -> bool:
        return self.dead_at is None


@strawberry.type(description="One message to one channel or device, with its outcome.")
class NotificationDelivery(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID; the webhook's `deliveryId`.")
    kind: DeliveryKind = strawberry.field(description="What it went to.")  # type: ignore[valid-type]
    status: DeliveryStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts made so far.")
    last_error: str | None = strawberry.field(
        description="Why the last failed attempt failed (e.g. `503 Service Unavailable`, `timed out`); null when "
                    "none failed.")
    created_at: datetime = strawberry.field(description="When it was made.")
    sent_at: datetime | None = strawberry.field(description="When the receiver took it; null until SENT.")


async def channels_of(ctx: Context, user: models.User) -> list[NotificationChannel]:
    """A user's channels; only the user themself may see them."""
    viewer = ctx.require_user()
    if viewer.id != user.id:
        raise Forbidden("Only the user can see their notification channels.")
    return [NotificationChannel.from_row(row) for row in await channels.list_channels(user)]


@strawberry.input(description="A new webhook or Apprise channel.")
class AddNotificationChannelInput:
    kind: NotificationChannelKind = strawberry.field(  # type: ignore[valid-type]
        description="WEBHOOK or APPRISE.")
    url: str = strawberry.field(
        description=f"At most {channels.MAX_URL_LENGTH} characters. WEBHOOK: an https URL. APPRISE: any Apprise "
                    "URL. A host that is or resolves to a loopback, link-local or private address is refused "
                    "(INVALID_INPUT) unless the server sets ALLOW_PRIVATE_WEBHOOKS; so is an Apprise URL Apprise "
                    f"does not understand. At most {channels.MAX_CHANNELS} channels per account.")
    name: str = strawberry.field(description=f"1 to {channels.MAX_NAME_LENGTH} characters after trimming.")


@strawberry.input(description="The channel to remove.")
class RemoveNotificationChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="One of the caller's channels; NOT_FOUND otherwise.")


@strawberry.input(description="The channel to send a test message to.")
class TestNotificationChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="One of the caller's channels; NOT_FOUND otherwise.")


@strawberry.type
class AddedChannelResult:
    channel: NotificationChannel | None = strawberry.field(default=None, description="The new channel.")
    secret: str | None = strawberry.field(
        default=None,
        description="WEBHOOK only: the secret its deliveries are signed with (`X-Honeydue-Signature`). Shown this "
                    "once; store it with the receiver. Null for APPRISE.")


@strawberry.type
class RemovedChannelResult:
    removed_id: strawberry.ID | None = strawberry.field(default=None, description="The removed channel's ID.")


@strawberry.type
class TestedChannelResult:
    delivery: NotificationDelivery | None = strawberry.field(
        default=None, description="The test message's delivery: SENT, or FAILED with `lastError` (it is tried "
                                  "once, not retried).")


@strawberry.type
class NotificationChannelMutation:
    @mutation("Adds a webhook or Apprise channel; every notification type the user has enabled goes to it too, "
              "unless the type's `webhook` or `apprise` preference is false. INVALID_INPUT for a bad name or URL.")
    async def add_notification_channel(
        self, info: Info[Context, None], input: AddNotificationChannelInput
    ) -> AddedChannelResult:
        ctx = info.context
        row, secret = await channels.add_channel(
            ctx.require_user(), ctx.settings, ctx.services.signing_keys,
            models.NotificationChannelKind(input.kind), input.url, input.name)
        return AddedChannelResult(channel=NotificationChannel.from_row(row), secret=secret)

    @mutation("Removes one of the caller's channels; nothing more is sent to it.")
    async def remove_notification_channel(
        self, info: Info[Context, None], input: RemoveNotificationChannelInput
    ) -> RemovedChannelResult:
        row = await channels.remove_channel(info.context.require_user(), input.channel_id)
        return RemovedChannelResult(removed_id=strawberry.ID(str(row.id)))

    @mutation("Sends a test message (event `channel.test`) to one of the caller's channels now and answers its "
              f"delivery outcome. At most {channels.TESTS_PER_HOUR} an hour per user (INVALID_INPUT after).")
    async def test_notification_channel(
        self, info: Info[Context, None], input: TestNotificationChannelInput
    ) -> TestedChannelResult:
        ctx = info.context
        row = await channels.test_channel(ctx.require_user(), ctx.settings, ctx.services.rate_limiter,
                                          input.channel_id)
        return TestedChannelResult(delivery=NotificationDelivery.from_row(row))
