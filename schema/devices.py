"""Push devices in GraphQL: ``User.devices``, ``vapidPublicKey`` and the register/unregister mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.clock import utc_now
from honeydue.delivery.keys import configured_vapid_public_key
from honeydue.errors import Forbidden
from resolvers import devices
from resolvers.ids import as_id
from schema.common import FromRow
from schema.context import Context
from schema.enums import DevicePlatform
from schema.mutation import OkResult, mutation


@strawberry.type(description="A phone app or browser that receives push notifications for the user. Every "
                             "notification the user has enabled goes to each of their devices.")
class Device(FromRow):
    id: strawberry.ID = strawberry.field(description="The device's ID, as `unregisterDevice` takes it.")
    platform: DevicePlatform = strawberry.field(  # type: ignore[valid-type]
        description="Which push service reaches the device.")
    created_at: datetime = strawberry.field(description="When the device was first registered.")
    last_seen_at: datetime = strawberry.field(description="When the device last registered (each app start or "
                                                          "token refresh calls `registerDevice`).")


async def devices_of(ctx: Context, user: models.User) -> list[Device]:
    viewer = ctx.require_user()
    if viewer.id != user.id and not viewer.is_admin:
        raise Forbidden("Only the user can see their devices.")
    return [Device.from_row(row) for row in await devices.live_devices(user.id)]


@strawberry.input(description="A browser's push subscription (`PushSubscription.toJSON()`: its endpoint and keys).")
class WebPushSubscriptionInput:
    endpoint: str = strawberry.field(description=(
        f"The push service URL the browser gave: https, at most {devices.MAX_ENDPOINT_LENGTH} characters, on a "
        "public host (loopback, link-local and private addresses are refused unless the server sets "
        "ALLOW_PRIVATE_WEBHOOKS). Else INVALID_INPUT on [webPush, endpoint]."))
    p256dh: str = strawberry.field(description="`keys.p256dh`: the subscription's P-256 public key, an uncompressed "
                                               "point (65 bytes) in base64url. Else INVALID_INPUT.")
    auth: str = strawberry.field(description="`keys.auth`: the subscription's 16-byte authentication secret in "
                                             "base64url. Else INVALID_INPUT.")


@strawberry.input(description="A device to push to. Registering a token that is already registered updates that "
                              "device (last seen, app version, locale) and binds it to the caller.")
class RegisterDeviceInput:
    platform: DevicePlatform = strawberry.field(  # type: ignore[valid-type]
        description="The push service: IOS (APNs), ANDROID (FCM) or WEB.")
    token: str | None = strawberry.field(default=None, description=(
        "IOS: the APNs device token in hexadecimal; ANDROID: the FCM registration token (required for both, "
        f"at most {devices.MAX_TOKEN_LENGTH} characters). WEB: optional, defaults to the subscription's "
        "endpoint. The device's identity: the same token again is the same device."))
    web_push: WebPushSubscriptionInput | None = strawberry.field(default=None, description=(
        "WEB only (required there, refused elsewhere): the browser's push subscription."))
    app_version: str | None = strawberry.field(default=None, description=(
        f"The app's version, at most {devices.MAX_APP_VERSION_LENGTH} printable ASCII characters; kept for "
        "support. Null: none."))
    locale: str | None = strawberry.field(default=None, description=(
        f"The device's language as a BCP 47 tag (en-US), at most {devices.MAX_LOCALE_LENGTH} characters. Null: "
        "none."))


@strawberry.input(description="Which of your devices to stop pushing to.")
class UnregisterDeviceInput:
    device_id: strawberry.ID = strawberry.field(description="A `Device.id` of one of your devices; any other ID "
                                                            "answers NOT_FOUND.")


@strawberry.type
class DeviceResult:
    device: Device | None = strawberry.field(default=None, description="The device as registered.")


def _device_input(data: RegisterDeviceInput) -> devices.DeviceInput:
    web = data.web_push
    return devices.DeviceInput(
        platform=models.DevicePlatform(data.platform), token=data.token, app_version=data.app_version,
        locale=data.locale,
        web_push=devices.WebPushKeys(endpoint=web.endpoint, p256dh=web.p256dh, auth=web.auth) if web else None,
    )


@strawberry.type
class DeviceQuery:
    @strawberry.field(description="The server's VAPID public key (an uncompressed P-256 point in base64url), the "
                                  "`applicationServerKey` a browser subscribes with before `registerDevice` "
                                  "(WEB). Null when this server does not send Web Push.")
    def vapid_public_key(self, info: Info[Context, None]) -> str | None:
        ctx = info.context
        ctx.require_user()
        return configured_vapid_public_key(ctx.settings.vapid_private_key)


@strawberry.type
class DeviceMutation:
    @mutation("Registers a phone or browser for push notifications, or refreshes it: idempotent per token (the "
              f"same token updates its device and binds it to you). At most {devices.MAX_DEVICES_PER_USER} devices "
              "per user: one more replaces the one seen least recently.")
    async def register_device(self, info: Info[Context, None], input: RegisterDeviceInput) -> DeviceResult:
        ctx = info.context
        row = await devices.register_device(ctx.require_user(), _device_input(input), now=utc_now(),
                                            allow_private=ctx.settings.allow_private_webhooks)
        return DeviceResult(device=Device.from_row(row))

    @mutation("Stops push notifications to one of your devices and forgets it (call it at sign-out). NOT_FOUND "
              "for any ID that is not one of your devices.")
    async def unregister_device(self, info: Info[Context, None], input: UnregisterDeviceInput) -> OkResult:
        ctx = info.context
        await devices.unregister_device(ctx.require_user(), as_id(input.device_id))
        return OkResult(ok=True)
