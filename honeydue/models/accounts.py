"""Users, their bearer tokens, account-email tokens and notification preferences."""

from __future__ import annotations

import uuid

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import AccountTokenPurpose, NotificationType


class User(UUIDModel):
    email = fields.CharField(max_length=254, unique=True)  # stored normalised (lower case)
    password_hash = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=100)
    is_admin = fields.BooleanField(default=False)
    # A plain column, not a foreign key: media rows point at users (owner), and
    # Tortoise's migration autodetector cannot order a User <-> Media cycle.
    avatar_id = fields.UUIDField(null=True)
    # Set once the user proved they read mail at ``email``; until then only account emails (verification,
    # password reset) are sent to it, never reminders or onboarding.
    email_verified = fields.BooleanField(default=False, db_default=False)
    email_verified_at = fields.DatetimeField(null=True)
    # Set by an admin (adminSetUserDisabled): no sign-in, and every bearer token is refused (API and gateway)
    # while it is set; signed media links already handed out keep working until they expire.
    disabled = fields.BooleanField(default=False, db_default=False)
    disabled_reason = fields.CharField(max_length=500, null=True)
    disabled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class AuthToken(UUIDModel):
    # An opaque bearer token; only its SHA-256 is stored, so a database leak leaks no sessions.
    # Each row is one session the user sees (``User.sessions``), created_at being when it was issued.

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)  # written at most once a minute (honeydue.tokens)
    user_agent = fields.CharField(max_length=255, null=True)  # as sent at sign-in, control characters removed
    ip_address = fields.CharField(max_length=64, null=True)  # the client address at sign-in

    class Meta:
        table = "auth_tokens"


class AccountToken(UUIDModel):
    # The secret of an account email's link (reset a password, verify an address, confirm a new address).
    # Only its SHA-256 is stored; it works once (``used_at``) and until ``expires_at``. A new token of a
    # purpose voids the user's older unused ones of that purpose (``used_at`` set without use).

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    purpose = fields.CharEnumField(AccountTokenPurpose, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    # EMAIL_CHANGE only: the address the account moves to once the token is used.
    new_email = fields.CharField(max_length=254, null=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_tokens"
        indexes = (("user_id", "purpose"),)


class NotificationPreference(UUIDModel):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    type = fields.CharEnumField(NotificationType, max_length=32)
    enabled = fields.BooleanField(default=True)
    hour_of_day = fields.SmallIntField(default=20)  # in the user's residence timezone
    # Per channel: null follows ``enabled``; False keeps this type off that channel, True on it (while enabled).
    push = fields.BooleanField(null=True)
    email = fields.BooleanField(null=True)
    webhook = fields.BooleanField(null=True)
    apprise = fields.BooleanField(null=True)

    class Meta:
        table = "notification_preferences"
        unique_together = (("user", "type"),)


class CalendarFeed(UUIDModel):
    # A user's secret calendar feed (``User.calendarFeedUrl``): one row per user, made on the first read of
    # the field. The URL's token is derived from ``nonce`` with the signing key (honeydue.calendar_tokens) and
    # only its SHA-256 is looked up, so a copy of the database alone opens no feed. ``rotateCalendarFeed``
    # replaces both, which kills the old URL.
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "honeydue.User", related_name="calendar_feed", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    nonce = fields.CharField(max_length=64)
    token_hash = fields.CharField(max_length=64, unique=True)
    rotated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_feeds"
