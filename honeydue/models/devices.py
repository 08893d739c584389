"""Devices that receive push notifications: a phone app's APNs or FCM token, or a browser's push subscription."""

from __future__ import annotations

import uuid

from tortoise import fields

from honeydue.models.accounts import User
from honeydue.models.base import UUIDModel
from honeydue.models.enums import DevicePlatform


class Device(UUIDModel):
    # One row per push token: registering the same token again (``registerDevice`` is idempotent) updates this
    # row and binds it to whoever registered it last, so a phone passed to another account stops notifying the
    # first one. ``token_hash`` (SHA-256 of "PLATFORM:token") is the unique key: tokens may be kilobytes long,
    # too long for a portable unique index.

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="devices", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    platform = fields.CharEnumField(DevicePlatform, max_length=16)
    token = fields.TextField()  # APNs device token (hex), FCM registration token, or for WEB the endpoint
    token_hash = fields.CharField(max_length=64, unique=True)
    # WEB only: the browser's PushSubscription (RFC 8030 endpoint; RFC 8291 keys, base64url).
    web_push_endpoint = fields.CharField(max_length=2048, null=True)
    web_push_p256dh = fields.CharField(max_length=128, null=True)
    web_push_auth = fields.CharField(max_length=64, null=True)
    app_version = fields.CharField(max_length=64, null=True)
    locale = fields.CharField(max_length=35, null=True)  # a BCP 47 tag such as en-US
    last_seen_at = fields.DatetimeField()
    # Set when the push service said the token is gone (APNs 410, FCM UNREGISTERED, Web Push 404/410): the
    # device is never sent to again, until the same token is registered anew.
    dead_at = fields.DatetimeField(null=True)
    dead_reason = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "devices"
        indexes = (("user_id", "dead_at"),)
