"""``data.json`` of a data export: the user's data in a documented, versioned JSON document.

The format is ``honeydue.data-export`` version 1, described key by key in docs/data-export.md and by the
JSON Schema docs/data-export.schema.json. It is produced as a stream of text pieces: each list is read
from the database a page at a time (keyset paging on the id) and written out row by row, so the memory
used does not depend on how much the user has.

What is in it: the user's profile and notification preferences; every residence they are a member of,
with its tasks, those tasks' completions, its documents and its contractors (the records the user can see in the app,
whoever wrote them); their notifications, push devices, notification channels and delivery log; the admin
actions taken on their account; and the list of the files they uploaded, each with the path of its copy
inside the zip (``files``; the entries are spooled by the archive builder as it copies them).

Credentials stay out: a device's push token and Web Push keys, a channel's URL (only its scheme-and-host
hint) and signing secret, a delivery's message (its action links act without a session), and URLs inside a
delivery's error text (reduced to the same hint). The admin who acted is not named (docs/data-export.md).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from honeydue.delivery.channel_urls import url_hint
from honeydue.models import (
    AuditEntry,
    Contractor,
    Device,
    Document,
    Media,
    MediaPurpose,
    MediaStatus,
    Membership,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    NotificationType,
    Residence,
    Task,
    TaskCompletion,
    User,
)
from workers.paging import pages

FORMAT = "honeydue.data-export"
VERSION = 1
# The hour of a notification type without a stored preference: the model's own default.
DEFAULT_HOUR: int = NotificationPreference._meta.fields_map["hour_of_day"].default

# Per-channel choices of a preference (null: follow ``enabled``), exported under these names.
CHANNEL_CHOICES = ("push", "email", "webhook", "apprise")
# Any URL in free text (a delivery's error may quote the one it failed on, token and all).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")

M = TypeVar("M", bound=Model)
Row = dict[str, Any]


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _value(value: object) -> object:
    """A column's value as JSON: ids and enums as their strings, instants and dates in ISO 8601."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _columns(row: Model, *columns: str) -> Row:
    """The named columns of ``row``, in that order, as JSON values under their camelCase names; a column
    written ``column:key`` goes under ``key`` (``avatar_id:avatarFileId``)."""
    out: Row = {}
    for spec in columns:
        column, _, key = spec.partition(":")
        head, *rest = column.split("_")
        out[key or head + "".join(word.title() for word in rest)] = _value(getattr(row, column))
    return out


def profile(user: User) -> Row:
    return _columns(user, "id", "email", "display_name", "is_admin", "created_at", "avatar_id:avatarFileId")


async def preferences(user: User) -> list[Row]:
    """One entry per notification type (a bounded list): stored choices, defaults for the rest."""
    stored = {row.type: row for row in await NotificationPreference.filter(user_id=user.id)}
    out = []
    for kind in NotificationType:
        row = stored.get(kind)
        out.append({
            "type": kind.value,
            "enabled": row.enabled if row else True,
            "hourOfDay": row.hour_of_day if row else DEFAULT_HOUR,
            "stored": row is not None,
            **{choice: getattr(row, choice) if row else None for choice in CHANNEL_CHOICES},
        })
    return out


async def _residences(user: User) -> AsyncIterator[Iterable[Row]]:
    async for memberships in pages(Membership.filter(user_id=user.id)):
        homes = {r.id: r for r in await Residence.filter(id__in=[m.residence_id for m in memberships])}
        yield [
            {
                **_columns(home, "id", "name", "address", "timezone", "type", "photo_id:photoFileId"),
                "profile": _columns(home, "year_built", "heating", "cooling", "water_heater", "roof", "has_pool",
                                    "has_septic", "has_fireplace", "has_basement", "has_sprinklers",
                                    "climate_region"),
                **_columns(home, "created_at"),
                **_columns(membership, "role", "created_at:joinedAt"),
            }
            for membership in memberships if (home := homes.get(membership.residence_id)) is not None
        ]


def _task(task: Task) -> Row:
    return _columns(task, "id", "residence_id", "title", "description", "category", "priority", "frequency",
                    "template_id", "interval_days", "rolling", "anchor_date", "due_date", "in_progress", "cancelled",
                    "archived", "completed", "assignee_id", "contractor_id", "created_by_id", "last_completed_at",
                    "created_at", "updated_at")


async def _attached_files(column: str, owners: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """READY media attached to each of ``owners`` (completions or documents), in one query."""
    pairs = await Media.filter(**{f"{column}__in": owners}, status=MediaStatus.READY).order_by(
        "created_at", "id").values_list(column, "id")
    attached: dict[uuid.UUID, list[str]] = {}
    for owner, media_id in pairs:
        attached.setdefault(owner, []).append(str(media_id))
    return attached


async def _completions(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(TaskCompletion.filter(task__residence__memberships__user_id=user.id)):
        photos = await _attached_files("completion_id", [c.id for c in page])
        yield [
            {**_columns(c, "id", "task_id", "completed_at", "completed_by_id", "contractor_id", "notes", "cost_cents",
                        "created_at"),
             "photoFileIds": photos.get(c.id, [])}
            for c in page
        ]


async def _documents(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(Document.filter(residence__memberships__user_id=user.id)):
        files = await _attached_files("document_id", [d.id for d in page])
        yield [
            {**_columns(d, "id", "residence_id", "title", "kind", "notes", "expires_at", "created_by_id", "created_at",
                        "updated_at"),
             "fileIds": files.get(d.id, [])}
            for d in page
        ]


def _contractor(c: Contractor) -> Row:
    return {**_columns(c, "id", "residence_id", "name", "company", "phone", "email", "website", "notes", "favorite"),
            "specialties": list(c.specialties), **_columns(c, "created_at", "updated_at")}


def _notification(n: Notification) -> Row:
    return _columns(n, "id", "type", "title", "body", "task_id", "document_id", "read_at", "created_at")


def _device(d: Device) -> Row:
    # Not token, token_hash nor the web_push_* columns: they are what a push service accepts as this device.
    return _columns(d, "id", "platform", "app_version", "locale", "created_at", "last_seen_at", "dead_at")


def _channel(c: NotificationChannel) -> Row:
    # The hint only (scheme and host, as the API shows it): the sealed URL and secret may hold tokens.
    return _columns(c, "id", "kind", "name", "url_hint", "created_at", "dead_at", "dead_reason")


def _scrub(text: str | None) -> str | None:
    return None if text is None else _URL.sub(lambda m: url_hint(m.group(0)), text)


def _delivery(d: NotificationDelivery) -> Row:
    # Not ``message`` (its action links act without a session) nor ``attempt_log`` (its errors repeat lastError).
    return {**_columns(d, "id", "notification_id", "kind", "target_id", "status", "attempts"),
            "lastError": _scrub(d.last_error), **_columns(d, "created_at", "sent_at", "updated_at")}


def _audit(a: AuditEntry) -> Row:
    # Not ``actor_id``: the admin is staff of the service acting for it, and their identity is their own data.
    return {**_columns(a, "id", "action", "reason"), "details": a.details, **_columns(a, "created_at")}


async def _each(rows: QuerySet[M], serialize: Callable[[M], Row]) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(rows):
        yield map(serialize, page)


async def _array(name: str, batches: AsyncIterator[Iterable[Row]]) -> AsyncIterator[str]:
    yield f',\n"{name}":['
    separator = "\n"
    async for batch in batches:
        for row in batch:
            yield separator + _dump(row)
            separator = ",\n"
    yield "\n]"


async def document(user: User, exported_at: datetime,
                   file_entries: Callable[[], AsyncIterator[Iterable[Row]]]) -> AsyncIterator[str]:
    """The text of data.json, in pieces. ``file_entries`` gives the ``files`` list (see module docstring)."""
    head = {"format": FORMAT, "version": VERSION, "exportedAt": exported_at.isoformat(), "profile": profile(user),
            "preferences": await preferences(user)}
    yield _dump(head)[:-1]  # the object stays open: the lists follow
    member_of = {"residence__memberships__user_id": user.id}
    # Each list is read only when the document reaches it (an async generator starts when first iterated).
    lists = {
        "residences": _residences(user),
        "tasks": _each(Task.filter(**member_of), _task),
        "completions": _completions(user),
        "documents": _documents(user),
        "contractors": _each(Contractor.filter(**member_of), _contractor),
        "notifications": _each(Notification.filter(user_id=user.id), _notification),
        "devices": _each(Device.filter(user_id=user.id), _device),
        "notificationChannels": _each(NotificationChannel.filter(user_id=user.id), _channel),
        "notificationDeliveries": _each(NotificationDelivery.filter(user_id=user.id), _delivery),
        "auditEntries": _each(AuditEntry.filter(target_type="User", target_id=str(user.id)), _audit),
        "files": file_entries(),
    }
    for name, batches in lists.items():
        async for piece in _array(name, batches):
            yield piece
    yield "\n}\n"


def owned_files(user: User) -> QuerySet[Media]:
    """The files that go into the zip: the user's own READY uploads (avatars, photos, document files)."""
    return Media.filter(owner_id=user.id, status=MediaStatus.READY).exclude(purpose=MediaPurpose.DATA_EXPORT)
