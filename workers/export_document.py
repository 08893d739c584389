"""``data.json`` of a data export: the user's data in a documented, versioned JSON document.

The format is ``honeydue.data-export`` version 1, described key by key in docs/data-export.md and by the
JSON Schema docs/data-export.schema.json. It is produced as a stream of text pieces: each list is read
from the database a page at a time (keyset paging on the id) and written out row by row, so the memory
used does not depend on how much the user has.

What is in it: the user's profile and notification preferences; every residence they are a member of,
with its tasks, those tasks' completions, its documents and its contractors (the records the user can see in the app,
whoever wrote them); their notifications; and the list of the files they uploaded, each with the path
of its copy inside the zip (``files``; the entries are spooled by the archive builder as it copies them).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from honeydue.models import (
    Contractor,
    Document,
    Media,
    MediaPurpose,
    MediaStatus,
    Membership,
    Notification,
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

M = TypeVar("M", bound=Model)
Row = dict[str, Any]


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)




def profile(user: User) -> Row:
    return {
        "id": str(user.id),
        "email": user.email,
        "displayName": user.display_name,
        "isAdmin": user.is_admin,
        "createdAt": _iso(user.created_at),
        "avatarFileId": _id(user.avatar_id),
    }


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
        })
    return out


def _enum(value: StrEnum | None) -> str | None:
    return None if value is None else value.value


def _profile(home: Residence) -> Row:
    return {
        "yearBuilt": home.year_built,
        "heating": _enum(home.heating),
        "cooling": _enum(home.cooling),
        "waterHeater": _enum(home.water_heater),
        "roof": _enum(home.roof),
        "hasPool": home.has_pool,
        "hasSeptic": home.has_septic,
        "hasFireplace": home.has_fireplace,
        "hasBasement": home.has_basement,
        "hasSprinklers": home.has_sprinklers,
        "climateRegion": _enum(home.climate_region),
    }


async def _residences(user: User) -> AsyncIterator[Iterable[Row]]:
    async for memberships in pages(Membership.filter(user_id=user.id)):
        homes = {r.id: r for r in await Residence.filter(id__in=[m.residence_id for m in memberships])}
        yield [
            {
                "id": str(home.id),
                "name": home.name,
                "address": home.address,
                "timezone": home.timezone,
                "type": home.type.value,
                "photoFileId": _id(home.photo_id),
                "profile": _profile(home),
                "createdAt": _iso(home.created_at),
                "role": membership.role.value,
                "joinedAt": _iso(membership.created_at),
            }
            for membership in memberships if (home := homes.get(membership.residence_id)) is not None
        ]


def _task(task: Task) -> Row:
    return {
        "id": str(task.id),
        "residenceId": str(task.residence_id),
        "title": task.title,
        "description": task.description,
        "category": task.category.value,
        "priority": task.priority.value,
        "frequency": task.frequency.value,
        "templateId": task.template_id,
        "intervalDays": task.interval_days,
        "rolling": task.rolling,
        "anchorDate": _iso(task.anchor_date),
        "dueDate": _iso(task.due_date),
        "inProgress": task.in_progress,
        "cancelled": task.cancelled,
        "archived": task.archived,
        "completed": task.completed,
        "assigneeId": _id(task.assignee_id),
        "contractorId": _id(task.contractor_id),
        "createdById": _id(task.created_by_id),
        "lastCompletedAt": _iso(task.last_completed_at),
        "createdAt": _iso(task.created_at),
        "updatedAt": _iso(task.updated_at),
    }


async def _tasks(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(Task.filter(residence__memberships__user_id=user.id)):
        yield map(_task, page)


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
            {
                "id": str(c.id),
                "taskId": str(c.task_id),
                "completedAt": _iso(c.completed_at),
                "completedById": _id(c.completed_by_id),
                "contractorId": _id(c.contractor_id),
                "notes": c.notes,
                "costCents": c.cost_cents,
                "createdAt": _iso(c.created_at),
                "photoFileIds": photos.get(c.id, []),
            }
            for c in page
        ]


async def _documents(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(Document.filter(residence__memberships__user_id=user.id)):
        files = await _attached_files("document_id", [d.id for d in page])
        yield [
            {
                "id": str(d.id),
                "residenceId": str(d.residence_id),
                "title": d.title,
                "kind": d.kind.value,
                "notes": d.notes,
                "expiresAt": _iso(d.expires_at),
                "createdById": _id(d.created_by_id),
                "createdAt": _iso(d.created_at),
                "updatedAt": _iso(d.updated_at),
                "fileIds": files.get(d.id, []),
            }
            for d in page
        ]


def _contractor(c: Contractor) -> Row:
    return {
        "id": str(c.id),
        "residenceId": str(c.residence_id),
        "name": c.name,
        "company": c.company,
        "phone": c.phone,
        "email": c.email,
        "website": c.website,
        "notes": c.notes,
        "favorite": c.favorite,
        "specialties": list(c.specialties),
        "createdAt": _iso(c.created_at),
        "updatedAt": _iso(c.updated_at),
    }


async def _contractors(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(Contractor.filter(residence__memberships__user_id=user.id)):
        yield map(_contractor, page)


def _notification(n: Notification) -> Row:
    return {
        "id": str(n.id),
        "type": n.type.value,
        "title": n.title,
        "body": n.body,
        "taskId": _id(n.task_id),
        "documentId": _id(n.document_id),
        "readAt": _iso(n.read_at),
        "createdAt": _iso(n.created_at),
    }


async def _notifications(user: User) -> AsyncIterator[Iterable[Row]]:
    async for page in pages(Notification.filter(user_id=user.id)):
        yield map(_notification, page)


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
    head = {"format": FORMAT, "version": VERSION, "exportedAt": _iso(exported_at), "profile": profile(user),
            "preferences": await preferences(user)}
    yield _dump(head)[:-1]  # the object stays open: the lists follow
    async for piece in _array("residences", _residences(user)):
        yield piece
    async for piece in _array("tasks", _tasks(user)):
        yield piece
    async for piece in _array("completions", _completions(user)):
        yield piece
    async for piece in _array("documents", _documents(user)):
        yield piece
    async for piece in _array("contractors", _contractors(user)):
        yield piece
    async for piece in _array("notifications", _notifications(user)):
        yield piece
    async for piece in _array("files", file_entries()):
        yield piece
    yield "\n}\n"


def owned_files(user: User) -> QuerySet[Media]:
    """The files that go into the zip: the user's own READY uploads (avatars, photos, document files)."""
    return Media.filter(owner_id=user.id, status=MediaStatus.READY).exclude(purpose=MediaPurpose.DATA_EXPORT)
