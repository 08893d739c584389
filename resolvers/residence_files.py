"""exportResidence and importResidence: a residence to a ``.honeydue`` file and back (docs/residence-file.md).

Export: any member (VIEWER too: the file holds what a viewer already reads). The file is built and stored
before the mutation answers (``honeydue.generated_files``), so its link works at once.

Import: the caller's own READY ``RESIDENCE_IMPORT`` upload (finalizeUpload already checked it against the
schema) becomes a new residence the caller owns, with its contractors, tasks, completions and documents, in
one transaction. What the schema cannot say is checked here, before anything is written: the caps
(``residence_file.MAX_*``), the timezone, the year built, the schedules, contractors' email and website,
template ids, references between entries, and dates. Completions are recorded without ``completedBy`` (the
people in the file are not users here; their display names stay in the file only); a rotating task keeps its
mode with the importer as its only member (and assignee) until they add others. The import file is
consumed: its row is deleted in the import's transaction (so a file imports once) and its object right after.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from honeydue import catalogue, residence_file
from honeydue.generated_files import store_generated_file
from honeydue.models import (
    Contractor,
    Document,
    Media,
    MediaPurpose,
    MediaStatus,
    Membership,
    Residence,
    ResidenceRole,
    RotationMode,
    Task,
    TaskCompletion,
    TaskRotationMember,
    User,
)
from honeydue.residence_file import ResidenceFileError
from honeydue.schedule import stored_interval_days, validate_schedule, validate_timezone
from honeydue.storage import Storage, StorageError
from honeydue.user_errors import InputRejected, UserError, UserErrorCode, reject
from resolvers import idempotency
from resolvers.access import require_role
from resolvers.contractors import checked_columns
from resolvers.ids import as_id, reference_id
from resolvers.residences import EARLIEST_YEAR_BUILT, PROFILE_COLUMNS, residence_replay
from resolvers.tasks import MAX_COMPLETION_AHEAD

log = logging.getLogger(__name__)

FILE_FIELD = "fileId"
BATCH = 500  # rows per INSERT when an import writes its rows
MAX_REPORTED = 20  # a file with thousands of problems answers with the first 20
# The file's profile keys, in the order of the residence's profile columns.
PROFILE_KEYS = ("yearBuilt", "heating", "cooling", "waterHeater", "roof", "hasPool", "hasSeptic", "hasFireplace",
                "hasBasement", "hasSprinklers", "climateRegion")


def _storage_unavailable() -> InputRejected:
    return reject(UserErrorCode.STORAGE_UNAVAILABLE, "File storage is unavailable; try again shortly.")


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- export -----------------------------------------------------------------------------------------------


async def residence_document(residence: Residence, now: datetime) -> dict[str, Any]:
    """The residence as a residence file (format version 1): what a member sees, without identities."""
    rid = residence.id
    contractors = await Contractor.filter(residence_id=rid).order_by("created_at", "id")
    refs = {contractor.id: f"c{index}" for index, contractor in enumerate(contractors, 1)}
    tasks = await Task.filter(residence_id=rid).order_by("created_at", "id")
    completions = await TaskCompletion.filter(task__residence_id=rid).order_by("completed_at", "id")
    people = {user.id: user.display_name for user in await User.filter(
        id__in=list({c.completed_by_id for c in completions if c.completed_by_id is not None}))}
    by_task: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for completion in completions:
        by_task.setdefault(completion.task_id, []).append({
            "completedAt": _instant(completion.completed_at),
            "completedBy": people.get(completion.completed_by_id) if completion.completed_by_id else None,
            "notes": completion.notes,
            "costCents": completion.cost_cents,
            "contractorRef": refs.get(completion.contractor_id) if completion.contractor_id else None,
            "skipped": completion.skipped,
        })
    documents = await Document.filter(residence_id=rid).order_by("created_at", "id")
    profile_values = [getattr(residence, column) for column in PROFILE_COLUMNS]
    return {
        "format": residence_file.FORMAT,
        "version": residence_file.VERSION,
        "exportedAt": _instant(now),
        "residence": {
            "name": residence.name,
            "address": residence.address,
            "timezone": residence.timezone,
            "type": residence.type.value,
            "profile": {key: (value.value if hasattr(value, "value") else value)
                        for key, value in zip(PROFILE_KEYS, profile_values, strict=True)},
        },
        "contractors": [{
            "ref": refs[c.id], "name": c.name, "company": c.company, "phone": c.phone, "email": c.email,
            "website": c.website, "specialties": list(c.specialties), "notes": c.notes, "favorite": c.favorite,
        } for c in contractors],
        "tasks": [{
            "title": t.title, "description": t.description, "category": t.category.value,
            "priority": t.priority.value, "frequency": t.frequency.value, "intervalDays": t.interval_days,
            "rolling": t.rolling, "dueDate": _day(t.due_date), "inProgress": t.in_progress,
            "cancelled": t.cancelled, "archived": t.archived, "completed": t.completed,
            "lastCompletedAt": _instant(t.last_completed_at), "templateId": t.template_id,
            "contractorRef": refs.get(t.contractor_id) if t.contractor_id else None,
            "rotation": t.rotation_mode.value, "snoozedUntil": _day(t.snoozed_until),
            "completions": by_task.get(t.id, []),
        } for t in tasks],
        "documents": [{
            "title": d.title, "kind": d.kind.value, "notes": d.notes, "expiresAt": _day(d.expires_at),
        } for d in documents],
    }


async def export_residence(user: User, storage: Storage, residence_id: object, now: datetime) -> Media:
    """Build the residence's ``.honeydue`` file and store it for the caller (any member); its READY media."""
    rid = as_id(residence_id)
    await require_role(user, rid, ResidenceRole.VIEWER)
    residence = await Residence.get(id=rid)
    data = residence_file.encode(await residence_document(residence, now))
    try:
        return await store_generated_file(storage, user, MediaPurpose.RESIDENCE_EXPORT,
                                          residence_file.filename_for(residence.name), residence_file.CONTENT_TYPE,
                                          data, target_id=rid)
    except StorageError as exc:
        log.warning("storing the export of residence %s failed: %s", rid, exc)
        raise _storage_unavailable() from exc


# --- import -----------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """The rows an import creates (ids given here, so references resolve before anything is written)."""

    residence: dict[str, Any]
    contractors: list[Contractor] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    completions: list[TaskCompletion] = field(default_factory=list)
    rotation_members: list[TaskRotationMember] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


class _Problems:
    """Every problem found in the file, each a userErrors entry on ``fileId`` naming where in the file it is."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, where: str, message: str, code: UserErrorCode = UserErrorCode.INVALID_INPUT) -> None:
        self.errors.append(UserError(code, f"{where}: {message}", [FILE_FIELD]))

    def date(self, where: str, value: str | None) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(where, f"{value!r} is not a date.")
            return None

    def instant(self, where: str, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            self.add(where, f"{value!r} is not a date and time.")
            return None


def _check_caps(document: dict[str, Any]) -> None:
    completions = sum(len(task["completions"]) for task in document["tasks"])
    caps = (("tasks", len(document["tasks"]), residence_file.MAX_TASKS),
            ("completions", completions, residence_file.MAX_COMPLETIONS),
            ("contractors", len(document["contractors"]), residence_file.MAX_CONTRACTORS),
            ("documents", len(document["documents"]), residence_file.MAX_DOCUMENTS))
    errors = [UserError(UserErrorCode.INVALID_INPUT, f"The file holds {count} {what}; an import takes at most "
                        f"{cap}.", [FILE_FIELD]) for what, count, cap in caps if count > cap]
    if errors:
        raise InputRejected(*errors)


def _plan(user: User, document: dict[str, Any], now: datetime) -> _Plan:
    """The rows to create from a schema-checked file; InputRejected with every problem found."""
    _check_caps(document)
    problems = _Problems()
    source = document["residence"]
    name = source["name"].strip()
    if not name:
        problems.add("residence.name", "the name is blank.")
    if not validate_timezone(source["timezone"]):
        problems.add("residence.timezone", f"unknown timezone {source['timezone']!r}.", UserErrorCode.INVALID_TIMEZONE)
    given = source["profile"]
    profile = {column: given.get(key) for column, key in zip(PROFILE_COLUMNS, PROFILE_KEYS, strict=True)}
    year = profile["year_built"]
    if year is not None and not EARLIEST_YEAR_BUILT <= year <= now.year + 1:
        problems.add("residence.profile.yearBuilt", f"the year must be from {EARLIEST_YEAR_BUILT} to {now.year + 1}.")
    residence_id = uuid.uuid4()
    plan = _Plan(residence=dict(id=residence_id, name=name, address=source["address"].strip(),
                                timezone=source["timezone"], type=source["type"], **profile))

    contractor_ids: dict[str, uuid.UUID] = {}
    for index, entry in enumerate(document["contractors"]):
        where = f"contractors[{index}]"
        if entry["ref"] in contractor_ids:
            problems.add(f"{where}.ref", f"{entry['ref']!r} is used by another contractor.")
        values, errors = checked_columns(name=entry["name"], company=entry["company"], phone=entry["phone"],
                                         email=entry["email"], website=entry["website"],
                                         specialties=entry["specialties"], notes=entry["notes"])
        for error in errors:
            problems.add(f"{where}.{'.'.join(error.field or [])}", error.message, error.code)
        contractor_id = contractor_ids[entry["ref"]] = uuid.uuid4()
        plan.contractors.append(Contractor(id=contractor_id, residence_id=residence_id, favorite=entry["favorite"],
                                           **values))

    def contractor(where: str, ref: str | None) -> uuid.UUID | None:
        if ref is None:
            return None
        if ref not in contractor_ids:
            problems.add(where, f"no contractor has the ref {ref!r}.")
        return contractor_ids.get(ref)

    for index, entry in enumerate(document["tasks"]):
        where = f"tasks[{index}]"
        title = entry["title"].strip()
        if not title:
            problems.add(f"{where}.title", "the title is blank.")
        schedule_problem = validate_schedule(entry["frequency"], entry["intervalDays"])
        if schedule_problem:
            problems.add(where, schedule_problem, UserErrorCode.INVALID_SCHEDULE)
        template_id = entry.get("templateId")
        if template_id is not None and catalogue.template(template_id) is None:
            problems.add(f"{where}.templateId", f"no template has the id {template_id!r}.")
        due = problems.date(f"{where}.dueDate", entry["dueDate"])
        rotation = RotationMode(entry.get("rotation", RotationMode.FIXED))
        task_id = uuid.uuid4()
        plan.tasks.append(Task(
            id=task_id, residence_id=residence_id, title=title, description=entry["description"],
            category=entry["category"], priority=entry["priority"], frequency=entry["frequency"],
            interval_days=None if schedule_problem else stored_interval_days(entry["frequency"], entry["intervalDays"]),
            rolling=entry["rolling"], anchor_date=due, due_date=due, in_progress=entry["inProgress"],
            cancelled=entry["cancelled"], archived=entry["archived"], completed=entry["completed"],
            last_completed_at=problems.instant(f"{where}.lastCompletedAt", entry.get("lastCompletedAt")),
            template_id=template_id, contractor_id=contractor(f"{where}.contractorRef", entry.get("contractorRef")),
            created_by_id=user.id, rotation_mode=rotation,
            assignee_id=None if rotation == RotationMode.FIXED else user.id,
            snoozed_until=problems.date(f"{where}.snoozedUntil", entry.get("snoozedUntil")),
        ))
        if rotation != RotationMode.FIXED:  # the people of the file are not users here: the importer takes turns alone
            plan.rotation_members.append(TaskRotationMember(id=uuid.uuid4(), task_id=task_id, user_id=user.id,
                                                            position=0))
        for number, done in enumerate(entry["completions"]):
            at = f"{where}.completions[{number}]"
            completed_at = problems.instant(f"{at}.completedAt", done["completedAt"])
            if completed_at is not None and completed_at > now + MAX_COMPLETION_AHEAD:  # as completeTask allows
                problems.add(f"{at}.completedAt", "the completion is in the future.", UserErrorCode.DATE_IN_FUTURE)
            plan.completions.append(TaskCompletion(
                id=uuid.uuid4(), task_id=task_id, completed_at=completed_at, completed_by_id=None,
                notes=done["notes"], cost_cents=done["costCents"], skipped=done.get("skipped", False),
                contractor_id=contractor(f"{at}.contractorRef", done.get("contractorRef")),
            ))

    for index, entry in enumerate(document["documents"]):
        title = entry["title"].strip()
        if not title:
            problems.add(f"documents[{index}].title", "the title is blank.")
        plan.documents.append(Document(
            id=uuid.uuid4(), residence_id=residence_id, title=title, kind=entry["kind"], notes=entry["notes"],
            expires_at=problems.date(f"documents[{index}].expiresAt", entry["expiresAt"]), created_by_id=user.id,
        ))
    if problems.errors:
        raise InputRejected(*problems.errors[:MAX_REPORTED])
    return plan


async def _import_file(user: User, file_id: object) -> Media:
    """The caller's READY import file; NOT_FOUND (on fileId) for anything else, MEDIA_NOT_READY before finalize."""
    media = await Media.get_or_none(id=reference_id(file_id), owner_id=user.id)
    if media is None or media.purpose != MediaPurpose.RESIDENCE_IMPORT:
        raise reject(UserErrorCode.NOT_FOUND, "No such import file: upload it with purpose RESIDENCE_IMPORT.",
                     FILE_FIELD)
    if media.status != MediaStatus.READY:
        raise reject(UserErrorCode.MEDIA_NOT_READY, "The import file is not READY: finalize its upload first "
                     "(a REJECTED file says why in rejectReason).", FILE_FIELD)
    return media


async def _create(plan: _Plan, user: User) -> Residence:
    residence = await Residence.create(**plan.residence)
    await Membership.create(residence_id=residence.id, user_id=user.id, role=ResidenceRole.OWNER)
    # Parents before children; a batch is one INSERT of many rows, so the statements grow with the file / 500.
    if plan.contractors:
        await Contractor.bulk_create(plan.contractors, batch_size=BATCH)
    if plan.tasks:
        await Task.bulk_create(plan.tasks, batch_size=BATCH)
    if plan.completions:
        await TaskCompletion.bulk_create(plan.completions, batch_size=BATCH)
    if plan.rotation_members:
        await TaskRotationMember.bulk_create(plan.rotation_members, batch_size=BATCH)
    if plan.documents:
        await Document.bulk_create(plan.documents, batch_size=BATCH)
    return residence


async def import_residence(
    user: User, storage: Storage, file_id: object, now: datetime, idempotency_key: str | None = None,
) -> Residence:
    """A new residence owned by the caller, made from their import file, which is consumed."""
    request = idempotency.request(user, idempotency_key, "importResidence", dict(file_id=file_id))

    async def work() -> Residence:
        media = await _import_file(user, file_id)
        try:
            data = await storage.read_prefix(media.key, media.size)
        except StorageError as exc:
            log.warning("reading import file %s failed: %s", media.id, exc)
            raise _storage_unavailable() from exc
        try:
            document = residence_file.parse(data)
        except ResidenceFileError as exc:
            raise reject(UserErrorCode.INVALID_INPUT, str(exc), FILE_FIELD) from None
        plan = _plan(user, document, now)
        async with in_transaction():
            if request is not None:
                await request.claim(plan.residence["id"])
            # Consume the file first: of two imports of one file, only the one that deletes the row goes on.
            if not await Media.filter(id=media.id, status=MediaStatus.READY).delete():
                raise reject(UserErrorCode.NOT_FOUND, "This import file was already imported.", FILE_FIELD)
            residence = await _create(plan, user)
        try:
            await storage.delete(media.key)
        except StorageError as exc:  # the row is gone: the reconcile job reports the object left behind
            log.warning("could not delete the imported file %s: %s", media.key, exc)
        return residence

    return await idempotency.once(request, work, residence_replay(user))
