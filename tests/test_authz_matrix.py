"""The authorization matrix: every query, mutation and gateway read, tried by each role, against API.md.

Roles (API.md): VIEWER reads; EDITOR also writes tasks, completions, contractors, documents and uploads; OWNER also
manages members, share codes and deletes the residence. A non-member gets NOT_FOUND (IDs are not
probeable), a member whose role is too low FORBIDDEN, and nobody reaches anything of another residence:
not through ``media(id)``, a gateway bearer read, ``Media.url`` of foreign media, nor an upload target.

Each cell (operation x role) runs against a fresh world, so a destructive operation allowed for one role
cannot hide a refusal for the next. The world is made in the database (``tests.plugins.domain``) and the
calls go over GraphQL and the gateway routes of the embedded app (ASGI).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from honeydue import models
from honeydue.clock import utc_now
from honeydue.delivery.sealing import seal
from honeydue.media_policy import staging_key
from honeydue.models import MediaPurpose, MediaStatus
from honeydue.services import services_of
from tests.conftest import GraphQLClient
from tests.plugins.domain import Actor, World, make_actor, make_world, ready_media

ROLES = ("owner", "editor", "viewer", "outsider")
RANK = {"viewer": 1, "editor": 2, "owner": 3}
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
OK, USER_ERROR = "ok", "user_error"
SEES, BLIND = "sees", "blind"


@dataclass
class Ctx:
    """One world and the objects every operation is pointed at."""

    world: World
    task: models.Task
    document: models.Document
    doc_file: models.Media  # READY, uploaded by the editor into the residence
    pending: models.Media  # PENDING, uploaded (bytes in the store) by the editor, not finalized yet
    owner_avatar: models.Media
    bystander: Actor  # a second viewer: the member removeMember is aimed at
    share_code: str
    notification: models.Notification  # the owner's
    foreign_photo: models.Media  # READY completion photo in the outsider's own residence
    foreign_task: models.Task
    owner_session: models.AuthToken  # the owner's signed-in session (their token)
    contractor: models.Contractor
    foreign_contractor: models.Contractor  # in the outsider's own residence
    import_file: models.Media  # a READY RESIDENCE_IMPORT upload of the owner's
    owner_device: models.Device  # a push device the owner registered
    channel: models.NotificationChannel  # the owner's webhook (to a loopback address: a test send fails fast)


async def build(storage: object) -> Ctx:
    world = await make_world()
    rid = world.residence.id
    task = await models.Task.create(residence=world.residence, title="Filter", frequency="WEEKLY",
                                    due_date=utc_now().date(), anchor_date=utc_now().date())
    document = await models.Document.create(residence=world.residence, title="Manual")
    doc_file = await ready_media(world.editor, MediaPurpose.DOCUMENT_FILE, rid, rid)
    pending = await models.Media.create(
        key=f"residences/{rid}/documents/{uuid.uuid4()}.png", owner=world.editor.user,
        purpose=MediaPurpose.DOCUMENT_FILE, target_id=rid, residence_id=rid, filename="scan.png",
        content_type="image/png", size=len(PNG), status=MediaStatus.PENDING)
    await storage.put_bytes(staging_key(pending.key), PNG, "image/png")  # type: ignore[attr-defined]
    await storage.put_bytes(doc_file.key, b"x" * doc_file.size, "image/jpeg")  # type: ignore[attr-defined]
    owner_avatar = await ready_media(world.owner, MediaPurpose.AVATAR, world.owner.user.id, None)
    await storage.put_bytes(owner_avatar.key, b"a" * owner_avatar.size, "image/jpeg")  # type: ignore[attr-defined]
    bystander = await make_actor("bystander")
    await models.Membership.create(residence=world.residence, user=bystander.user, role="VIEWER")
    share = await models.ShareCode.create(residence=world.residence, code=uuid.uuid4().hex[:10].upper(),
                                          role="VIEWER", expires_at=datetime.now(UTC) + timedelta(days=1))
    notification = await models.Notification.create(user=world.owner.user, type="TASK_DUE_SOON", title="Soon")
    elsewhere = await models.Residence.create(name="Elsewhere")
    await models.Membership.create(residence=elsewhere, user=world.outsider.user, role="OWNER")
    foreign_task = await models.Task.create(residence=elsewhere, title="Theirs", due_date=utc_now().date())
    foreign_photo = await ready_media(world.outsider, MediaPurpose.COMPLETION_PHOTO, foreign_task.id, elsewhere.id)
    await storage.put_bytes(foreign_photo.key, b"f" * foreign_photo.size, "image/jpeg")  # type: ignore[attr-defined]
    owner_session = await models.AuthToken.get(user_id=world.owner.user.id)
    contractor = await models.Contractor.create(residence=world.residence, name="Plumber")
    foreign_contractor = await models.Contractor.create(residence=elsewhere, name="Their plumber")
    import_bytes = json.dumps({"format": "honeydue.residence", "version": 1, "contractors": [], "tasks": [],
                               "documents": [], "residence": {"name": "Imported", "address": "", "timezone": "UTC",
                                                              "type": "HOUSE", "profile": {}}}).encode()
    import_file = await models.Media.create(
        key=f"users/{world.owner.user.id}/imports/{uuid.uuid4()}.json", owner=world.owner.user,
        purpose=MediaPurpose.RESIDENCE_IMPORT, filename="home.honeydue", content_type="application/json",
        size=len(import_bytes), status=MediaStatus.READY, finalized_at=datetime.now(UTC))
    await storage.put_bytes(import_file.key, import_bytes, "application/json")  # type: ignore[attr-defined]
    owner_device = await models.Device.create(user=world.owner.user, platform="IOS", token="ab" * 32,
                                              token_hash=uuid.uuid4().hex, last_seen_at=utc_now())
    channel_id = uuid.uuid4()
    channel = await models.NotificationChannel.create(
        id=channel_id, user=world.owner.user, kind="WEBHOOK", name="hook", url_hint="https://127.0.0.1/…",
        url_sealed=seal([b"k"], "https://127.0.0.1:9/h", str(channel_id)),
        secret_sealed=seal([b"k"], "s", str(channel_id)))
    return Ctx(world, task, document, doc_file, pending, owner_avatar, bystander, share.code, notification,
               foreign_photo, foreign_task, owner_session, contractor, foreign_contractor, import_file, owner_device,
               channel)


def at_least(minimum: str) -> dict[str, str]:
    """API.md's rule for a residence-scoped operation needing ``minimum``."""
    return {role: ("NOT_FOUND" if role == "outsider" else OK if RANK[role] >= RANK[minimum] else "FORBIDDEN")
            for role in ROLES}


def members(expected: str, outsider: str) -> dict[str, str]:
    return {"owner": expected, "editor": expected, "viewer": expected, "outsider": outsider}


@dataclass
class Op:
    name: str
    document: str
    variables: Callable[[Ctx], dict]
    expected: dict[str, str]
    # For list-shaped answers: does the role's result include the world's object?
    probe: Callable[[dict, Ctx], bool] | None = None
    # For operations that quietly ignore foreign IDs: did the world's object change, and for whom should it?
    effect: Callable[[Ctx], Awaitable[bool]] | None = None
    effect_roles: tuple[str, ...] = ()


def _ids(connection: dict) -> set[str]:
    return {edge["node"]["id"] for edge in connection["edges"]}


async def _notification_read(ctx: Ctx) -> bool:
    await ctx.notification.refresh_from_db()
    return ctx.notification.read_at is not None


I = "userErrors { code }"  # noqa: E741 — every payload's refusal channel
OPS = [
    # --- queries --------------------------------------------------------------------------------------------
    Op("me", "{ me { id } }", lambda c: {}, members(OK, OK)),
    Op("admin", "{ admin { stats { users } } }", lambda c: {}, members("FORBIDDEN", "FORBIDDEN")),
    Op("admin.emails", "{ admin { emails { totalCount } } }", lambda c: {}, members("FORBIDDEN", "FORBIDDEN")),
    # The admin console's fields and actions: FORBIDDEN to every non-admin, before any ID is read.
    *(Op(f"admin.{field}", f"{{ admin {{ {field}{args} {{ {sub} }} }} }}", lambda c: {},
         members("FORBIDDEN", "FORBIDDEN"))
      for field, args, sub in [
          ("users", "", "totalCount"), ("residences", "", "totalCount"), ("auditLog", "", "totalCount"),
          ("jobs", "", "name"), ("timeseries", "(metric: SIGNUPS, days: 7)", "count"),
          ("user", '(id: "00000000-0000-0000-0000-000000000000")', "id"),
          ("userFacts", '(id: "00000000-0000-0000-0000-000000000000")', "disabledAt"),
          ("userEmails", '(id: "00000000-0000-0000-0000-000000000000")', "kind"),
          ("residence", '(id: "00000000-0000-0000-0000-000000000000")', "id"),
          ("userChannels", '(id: "00000000-0000-0000-0000-000000000000")', "name"),
          ("deliveries", "", "totalCount"),
      ]),
    *(Op(name, f"mutation($i: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $i) {{ {I} }} }}", variables,
         members("FORBIDDEN", "FORBIDDEN"))
      for name, variables in [
          ("adminSetUserDisabled", lambda c: {"i": {"userId": str(c.bystander.user.id), "disabled": True}}),
          ("adminSendPasswordReset", lambda c: {"i": {"userId": str(c.bystander.user.id)}}),
          ("adminRevokeSessions", lambda c: {"i": {"userId": str(c.bystander.user.id)}}),
          ("adminSetAdmin", lambda c: {"i": {"userId": str(c.bystander.user.id), "admin": True}}),
          ("adminDeleteUser", lambda c: {"i": {"userId": str(c.bystander.user.id)}}),
          ("adminRunJob", lambda c: {"i": {"name": "reconcile_storage"}}),
      ]),
    Op("residences", "{ residences { edges { node { id } } } }", lambda c: {}, members(SEES, BLIND),
       probe=lambda d, c: str(c.world.residence.id) in _ids(d["residences"])),
    Op("residence", "query($id: ID!) { residence(id: $id) { id members { role } } }",
       lambda c: {"id": str(c.world.residence.id)}, at_least("viewer")),
    Op("residence.tasks", "query($id: ID!) { residence(id: $id) { tasks { edges { node { id } } } } }",
       lambda c: {"id": str(c.world.residence.id)}, at_least("viewer")),
    Op("task", "query($id: ID!) { task(id: $id) { id completions { totalCount } } }",
       lambda c: {"id": str(c.task.id)}, at_least("viewer")),
    Op("upcomingTasks", "{ upcomingTasks(days: 30) { edges { node { id } } } }", lambda c: {},
       members(SEES, BLIND), probe=lambda d, c: str(c.task.id) in _ids(d["upcomingTasks"])),
    Op("document", "query($id: ID!) { document(id: $id) { id files { id } } }",
       lambda c: {"id": str(c.document.id)}, at_least("viewer")),
    Op("media", "query($id: ID!) { media(id: $id) { id url } }", lambda c: {"id": str(c.doc_file.id)},
       at_least("viewer")),
    Op("media(co-member avatar)", "query($id: ID!) { media(id: $id) { id url } }",
       lambda c: {"id": str(c.owner_avatar.id)}, at_least("viewer")),
    # The outsider owns the foreign photo; the world's members must not reach it, nor its signed URL.
    Op("media(foreign).url", "query($id: ID!) { media(id: $id) { url } }",
       lambda c: {"id": str(c.foreign_photo.id)}, members("NOT_FOUND", OK)),
    Op("taskTemplates", "{ taskTemplates(first: 1) { totalCount } }", lambda c: {}, members(OK, OK)),
    Op("suggestedTasks", "query($id: ID!) { suggestedTasks(residenceId: $id, first: 3) { score } }",
       lambda c: {"id": str(c.world.residence.id)}, at_least("viewer")),
    Op("notifications", "{ notifications { edges { node { id } } } }", lambda c: {},
       {"owner": SEES, "editor": BLIND, "viewer": BLIND, "outsider": BLIND},
       probe=lambda d, c: str(c.notification.id) in _ids(d["notifications"])),
    # --- residences and sharing -----------------------------------------------------------------------------
    Op("createResidence", f"mutation($i: CreateResidenceInput!) {{ createResidence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"name": "Cabin"}}, members(OK, OK)),
    Op("updateResidence", f"mutation($i: UpdateResidenceInput!) {{ updateResidence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "name": "Renamed"}}, at_least("owner")),
    Op("deleteResidence", f"mutation($i: DeleteResidenceInput!) {{ deleteResidence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id)}}, at_least("owner")),
    Op("createShareCode", f"mutation($i: CreateShareCodeInput!) {{ createShareCode(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "role": "EDITOR"}}, at_least("owner")),
    Op("revokeShareCode", f"mutation($i: RevokeShareCodeInput!) {{ revokeShareCode(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"code": c.share_code}}, at_least("owner")),
    Op("removeMember", f"mutation($i: RemoveMemberInput!) {{ removeMember(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "userId": str(c.bystander.user.id)}},
       at_least("owner")),
    # Anyone holding a code may join; a member already in answers a user error, never a role change.
    Op("joinResidence", f"mutation($i: JoinResidenceInput!) {{ joinResidence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"code": c.share_code}}, members(USER_ERROR, OK)),
    # --- tasks and completions ------------------------------------------------------------------------------
    Op("createTask", f"mutation($i: CreateTaskInput!) {{ createTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "title": "New"}}, at_least("editor")),
    Op("createTasks", f"mutation($i: CreateTasksInput!) {{ createTasks(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id),
                        "tasks": [{"templateId": "gutters-clean"}, {"title": "New"}]}}, at_least("editor")),
    Op("updateTask", f"mutation($i: UpdateTaskInput!) {{ updateTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "title": "Renamed"}}, at_least("editor")),
    Op("deleteTask", f"mutation($i: DeleteTaskInput!) {{ deleteTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id)}}, at_least("editor")),
    Op("setTaskState", f"mutation($i: SetTaskStateInput!) {{ setTaskState(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "inProgress": True}}, at_least("editor")),
    Op("completeTask", f"mutation($i: CompleteTaskInput!) {{ completeTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "notes": "done"}}, at_least("editor")),
    Op("skipTaskOccurrence",
       f"mutation($i: SkipTaskOccurrenceInput!) {{ skipTaskOccurrence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id)}}, at_least("editor")),
    Op("snoozeTask", f"mutation($i: SnoozeTaskInput!) {{ snoozeTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "until": (utc_now().date() + timedelta(days=3)).isoformat()}},
       at_least("editor")),
    Op("completeTask(foreign photo)", f"mutation($i: CompleteTaskInput!) {{ completeTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "photoIds": [str(c.foreign_photo.id)]}},
       {**at_least("editor"), "owner": USER_ERROR, "editor": USER_ERROR}),
    Op("createTask(foreign contractor)", f"mutation($i: CreateTaskInput!) {{ createTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "title": "New",
                        "contractorId": str(c.foreign_contractor.id)}},
       {**at_least("editor"), "owner": USER_ERROR, "editor": USER_ERROR}),
    Op("completeTask(foreign contractor)",
       f"mutation($i: CompleteTaskInput!) {{ completeTask(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"taskId": str(c.task.id), "contractorId": str(c.foreign_contractor.id)}},
       {**at_least("editor"), "owner": USER_ERROR, "editor": USER_ERROR}),
    # --- contractors ----------------------------------------------------------------------------------------
    Op("contractor", "query($id: ID!) { contractor(id: $id) { id vcard } }",
       lambda c: {"id": str(c.contractor.id)}, at_least("viewer")),
    Op("contractor(foreign)", "query($id: ID!) { contractor(id: $id) { id } }",
       lambda c: {"id": str(c.foreign_contractor.id)}, members("NOT_FOUND", OK)),
    Op("residence.contractors",
       "query($id: ID!) { residence(id: $id) { contractors(search: \"plumb\") { edges { node { id } } } } }",
       lambda c: {"id": str(c.world.residence.id)}, at_least("viewer")),
    Op("residence.spending",
       "query($id: ID!) { residence(id: $id) { spending(year: 2025) { totalCents byMonth { month } } } }",
       lambda c: {"id": str(c.world.residence.id)}, at_least("viewer")),
    Op("residenceReport",
       f"mutation($i: ResidenceReportInput!) {{ residenceReport(input: $i) {{ url {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id)}}, at_least("viewer")),
    Op("createContractor",
       f"mutation($i: CreateContractorInput!) {{ createContractor(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "name": "Roofer"}}, at_least("editor")),
    Op("updateContractor",
       f"mutation($i: UpdateContractorInput!) {{ updateContractor(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"contractorId": str(c.contractor.id), "favorite": True}}, at_least("editor")),
    Op("updateContractor(foreign)",
       f"mutation($i: UpdateContractorInput!) {{ updateContractor(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"contractorId": str(c.foreign_contractor.id), "favorite": True}}, members("NOT_FOUND", OK)),
    Op("deleteContractor",
       f"mutation($i: DeleteContractorInput!) {{ deleteContractor(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"contractorId": str(c.contractor.id)}}, at_least("editor")),
    # --- documents ------------------------------------------------------------------------------------------
    Op("createDocument", f"mutation($i: CreateDocumentInput!) {{ createDocument(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "title": "Receipt"}}, at_least("editor")),
    Op("createDocument(foreign file)",
       f"mutation($i: CreateDocumentInput!) {{ createDocument(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id), "title": "R",
                        "fileIds": [str(c.foreign_photo.id)]}},
       {**at_least("editor"), "owner": USER_ERROR, "editor": USER_ERROR}),
    Op("updateDocument", f"mutation($i: UpdateDocumentInput!) {{ updateDocument(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"documentId": str(c.document.id), "title": "Renamed"}}, at_least("editor")),
    Op("deleteDocument", f"mutation($i: DeleteDocumentInput!) {{ deleteDocument(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"documentId": str(c.document.id)}}, at_least("editor")),
    # --- uploads and media ----------------------------------------------------------------------------------
    Op("requestUpload(document file)",
       f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"purpose": "DOCUMENT_FILE", "targetId": str(c.world.residence.id),
                        "filename": "a.png", "contentType": "image/png", "size": 100}}, at_least("editor")),
    Op("requestUpload(completion photo)",
       f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"purpose": "COMPLETION_PHOTO", "targetId": str(c.task.id),
                        "filename": "a.png", "contentType": "image/png", "size": 100}}, at_least("editor")),
    Op("requestUpload(residence photo)",
       f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"purpose": "RESIDENCE_PHOTO", "targetId": str(c.world.residence.id),
                        "filename": "a.png", "contentType": "image/png", "size": 100}}, at_least("editor")),
    Op("requestUpload(foreign residence photo)",
       f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"purpose": "RESIDENCE_PHOTO", "targetId": str(c.foreign_task.residence_id),
                        "filename": "a.png", "contentType": "image/png", "size": 100}},
       members("NOT_FOUND", OK)),
    Op("requestUpload(foreign task)",
       f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"purpose": "COMPLETION_PHOTO", "targetId": str(c.foreign_task.id),
                        "filename": "a.png", "contentType": "image/png", "size": 100}},
       members("NOT_FOUND", OK)),
    # Only the uploader finalizes; members who can see the file are FORBIDDEN, others NOT_FOUND.
    Op("finalizeUpload", f"mutation($i: FinalizeUploadInput!) {{ finalizeUpload(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"mediaId": str(c.pending.id)}},
       {"owner": "FORBIDDEN", "editor": OK, "viewer": "FORBIDDEN", "outsider": "NOT_FOUND"}),
    Op("deleteMedia", f"mutation($i: DeleteMediaInput!) {{ deleteMedia(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"mediaId": str(c.doc_file.id)}}, at_least("editor")),
    Op("deleteMedia(foreign)", f"mutation($i: DeleteMediaInput!) {{ deleteMedia(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"mediaId": str(c.foreign_photo.id)}}, members("NOT_FOUND", OK)),
    # --- the caller's own account: another user's objects are never accepted ----------------------------
    Op("updateProfile(foreign avatar)",
       f"mutation($i: UpdateProfileInput!) {{ updateProfile(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"avatarId": str(c.owner_avatar.id)}},
       {"owner": OK, "editor": USER_ERROR, "viewer": USER_ERROR, "outsider": USER_ERROR}),
    Op("markNotificationsRead",
       f"mutation($i: MarkNotificationsReadInput!) {{ markNotificationsRead(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"ids": [str(c.notification.id)]}}, members(OK, OK),
       effect=lambda c: _notification_read(c), effect_roles=("owner",)),
    Op("changePassword(wrong current)",
       f"mutation($i: ChangePasswordInput!) {{ changePassword(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"currentPassword": "not it", "newPassword": "a much longer secret 1"}},
       members(USER_ERROR, USER_ERROR)),
    Op("deleteAccount(wrong password)",
       f"mutation($i: DeleteAccountInput!) {{ deleteAccount(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"password": "not it"}}, members(USER_ERROR, USER_ERROR)),
    Op("logout", "mutation { logout { ok } }", lambda c: {}, members(OK, OK)),
    # --- account emails: only the caller's own address (the actors' addresses are unverified) ----------------
    Op("resendVerificationEmail", f"mutation {{ resendVerificationEmail {{ ok {I} }} }}", lambda c: {},
       members(OK, OK)),
    Op("requestEmailChange(wrong password)",
       f"mutation($i: RequestEmailChangeInput!) {{ requestEmailChange(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"newEmail": "elsewhere@example.com", "password": "not it"}},
       members(USER_ERROR, USER_ERROR)),
    # --- sessions: only one's own; another user's session is answered as a missing one -----------------------
    Op("me.sessions", "{ me { sessions { id current } } }", lambda c: {}, members(OK, OK)),
    Op("residence.members.sessions", "query($id: ID!) { residence(id: $id) { members { user { sessions { id } } } } }",
       lambda c: {"id": str(c.world.residence.id)}, members("FORBIDDEN", "NOT_FOUND")),
    Op("revokeSession(owner's)", f"mutation($i: RevokeSessionInput!) {{ revokeSession(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"sessionId": str(c.owner_session.id)}},
       {"owner": OK, "editor": "NOT_FOUND", "viewer": "NOT_FOUND", "outsider": "NOT_FOUND"}),
    Op("revokeOtherSessions", f"mutation {{ revokeOtherSessions {{ revokedCount {I} }} }}", lambda c: {},
       members(OK, OK)),
    # --- push devices: only one's own; another user's device is answered as a missing one ---------------------
    Op("me.devices", "{ me { devices { id platform } } }", lambda c: {}, members(OK, OK)),
    Op("residence.members.devices", "query($id: ID!) { residence(id: $id) { members { user { devices { id } } } } }",
       lambda c: {"id": str(c.world.residence.id)}, members("FORBIDDEN", "NOT_FOUND")),
    Op("registerDevice", f"mutation($i: RegisterDeviceInput!) {{ registerDevice(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"platform": "ANDROID", "token": f"fcm-{uuid.uuid4().hex}"}}, members(OK, OK)),
    Op("unregisterDevice(owner's)",
       f"mutation($i: UnregisterDeviceInput!) {{ unregisterDevice(input: $i) {{ ok {I} }} }}",
       lambda c: {"i": {"deviceId": str(c.owner_device.id)}},
       {"owner": OK, "editor": "NOT_FOUND", "viewer": "NOT_FOUND", "outsider": "NOT_FOUND"}),
    Op("vapidPublicKey", "{ vapidPublicKey }", lambda c: {}, members(OK, OK)),
    # --- the calendar feed: the URL is a secret, shown to its user alone ---------------------------------------
    Op("me.calendarFeedUrl", "{ me { calendarFeedUrl } }", lambda c: {}, members(OK, OK)),
    Op("residence.members.calendarFeedUrl",
       "query($id: ID!) { residence(id: $id) { members { user { calendarFeedUrl } } } }",
       lambda c: {"id": str(c.world.residence.id)}, members("FORBIDDEN", "NOT_FOUND")),
    Op("rotateCalendarFeed", f"mutation {{ rotateCalendarFeed {{ url {I} }} }}", lambda c: {}, members(OK, OK)),
    Op("requestDataExport", f"mutation {{ requestDataExport {{ {I} }} }}", lambda c: {}, members(OK, OK)),
    # --- notification channels: the caller's own; another's is answered as a missing one ------------------------
    Op("me.notificationChannels", "{ me { notificationChannels { id } } }", lambda c: {}, members(OK, OK)),
    Op("residence.members.notificationChannels",
       "query($id: ID!) { residence(id: $id) { members { user { notificationChannels { id } } } } }",
       lambda c: {"id": str(c.world.residence.id)}, members("FORBIDDEN", "NOT_FOUND")),
    Op("addNotificationChannel",
       f"mutation($i: AddNotificationChannelInput!) {{ addNotificationChannel(input: $i) {{ secret {I} }} }}",
       lambda c: {"i": {"kind": "WEBHOOK", "url": "https://93.184.215.14/h", "name": "mine"}}, members(OK, OK)),
    Op("testNotificationChannel(owner's)",
       f"mutation($i: TestNotificationChannelInput!) {{ testNotificationChannel(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"channelId": str(c.channel.id)}},
       {"owner": OK, "editor": "NOT_FOUND", "viewer": "NOT_FOUND", "outsider": "NOT_FOUND"}),
    Op("removeNotificationChannel(owner's)",
       f"mutation($i: RemoveNotificationChannelInput!) {{ removeNotificationChannel(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"channelId": str(c.channel.id)}},
       {"owner": OK, "editor": "NOT_FOUND", "viewer": "NOT_FOUND", "outsider": "NOT_FOUND"}),
    # --- residence files: any member exports; an import file is its uploader's alone --------------------------
    Op("exportResidence", f"mutation($i: ExportResidenceInput!) {{ exportResidence(input: $i) {{ url {I} }} }}",
       lambda c: {"i": {"residenceId": str(c.world.residence.id)}}, at_least("viewer")),
    Op("importResidence", f"mutation($i: ImportResidenceInput!) {{ importResidence(input: $i) {{ {I} }} }}",
       lambda c: {"i": {"fileId": str(c.import_file.id)}},
       {"owner": OK, "editor": USER_ERROR, "viewer": USER_ERROR, "outsider": USER_ERROR}),
]
# Need no caller: the credentials, or an emailed link's token, are the authorisation (tests/test_account_links.py).
PUBLIC_OPS = {"register", "login", "requestPasswordReset", "resetPassword", "verifyEmail", "confirmEmailChange"}


def outcome(result: dict, op: Op, ctx: Ctx) -> str:
    """What the caller got: OK, USER_ERROR, SEES/BLIND, or the top-level error code."""
    if result.get("errors"):
        assert result.get("data") is None or all(v is None for v in (result["data"] or {}).values()), result
        return result["errors"][0]["extensions"]["code"]
    data = result["data"]
    if op.probe is not None:
        return SEES if op.probe(data, ctx) else BLIND
    (payload,) = data.values()
    return USER_ERROR if isinstance(payload, dict) and payload.get("userErrors") else OK


@pytest.fixture
async def ctx(api_app: Starlette) -> Ctx:
    return await build(services_of(api_app).storage)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
async def test_operation_by_role(api: GraphQLClient, ctx: Ctx, op: Op, role: str) -> None:
    result = await api.execute(op.document, op.variables(ctx), token=ctx.world.actor(role).token)
    assert outcome(result, op, ctx) == op.expected[role], result
    if op.effect is not None:
        assert await op.effect(ctx) == (role in op.effect_roles)


def test_every_operation_of_the_schema_is_in_the_matrix() -> None:
    """A new query or mutation must get a row here (the PUBLIC_OPS need no caller)."""
    from schema import schema

    gql = schema._schema  # type: ignore[attr-defined]
    names = set(gql.query_type.fields) | set(gql.mutation_type.fields)
    covered = {op.name.split("(")[0].split(".")[0] for op in OPS} | PUBLIC_OPS | {"updateNotificationPreferences"}
    assert names - covered == set()


async def test_anonymous_is_unauthenticated_everywhere(api: GraphQLClient, ctx: Ctx) -> None:
    refused = {}
    for op in OPS:
        result = await api.execute(op.document, op.variables(ctx))
        refused[op.name] = (result.get("errors") or [{}])[0].get("extensions", {}).get("code")
    assert refused == {op.name: "UNAUTHENTICATED" for op in OPS}


# --- the gateway: bearer reads and signed links ------------------------------------------------------------

GATEWAY_TARGETS = {
    # media -> role -> expected status of a bearer GET/HEAD
    "doc_file": {"owner": 200, "editor": 200, "viewer": 200, "outsider": 403},
    "owner_avatar": {"owner": 200, "editor": 200, "viewer": 200, "outsider": 403},
    "foreign_photo": {"owner": 403, "editor": 403, "viewer": 403, "outsider": 200},
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", list(GATEWAY_TARGETS))
async def test_gateway_bearer_reads(api: GraphQLClient, ctx: Ctx, target: str, method: str) -> None:
    media: models.Media = getattr(ctx, target)
    for role in ROLES:
        response = await api.http.request(method, f"/media/{media.key}",
                                          headers={"Authorization": f"Bearer {ctx.world.actor(role).token}"})
        assert response.status_code == GATEWAY_TARGETS[target][role], (role, response.status_code, response.text)
        if response.status_code == 200:
            assert response.headers["cache-control"] == "private"
            assert int(response.headers["content-length"]) == media.size
    anonymous = await api.http.request(method, f"/media/{media.key}")
    assert anonymous.status_code == 403
    forged = await api.http.request(method, f"/media/{media.key}", headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401


async def test_signed_link_of_foreign_media_is_never_handed_out(api: GraphQLClient, ctx: Ctx) -> None:
    """The only way to a signed link is ``Media.url`` on something readable; through any residence field the
    world's members reach only their own files, and the links they get do not open the foreign object."""
    own = await api.execute("query($id: ID!) { media(id: $id) { url } }", {"id": str(ctx.doc_file.id)},
                            token=ctx.world.viewer.token)
    url = own["data"]["media"]["url"]
    assert (await api.http.get(url)).status_code == 200
    # The signature binds the key: swapping in the foreign key is refused.
    swapped = url.replace(ctx.doc_file.key, ctx.foreign_photo.key)
    assert swapped != url and (await api.http.get(swapped)).status_code == 403
    for role in ("owner", "editor", "viewer"):
        result = await api.execute("query($id: ID!) { task(id: $id) { completions { edges { node { photos "
                                   "{ url } } } } } }", {"id": str(ctx.foreign_task.id)},
                                   token=ctx.world.actor(role).token)
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_upload_put_link_cannot_be_retargeted(api: GraphQLClient, ctx: Ctx) -> None:
    """An editor's upload link for this residence cannot write into another residence's key space."""
    result = await api.execute(
        f"mutation($i: RequestUploadInput!) {{ requestUpload(input: $i) {{ upload {{ url headers {{ name value }} }}"
        f" {I} }} }}",
        {"i": {"purpose": "DOCUMENT_FILE", "targetId": str(ctx.world.residence.id), "filename": "a.png",
               "contentType": "image/png", "size": len(PNG)}}, token=ctx.world.editor.token)
    upload = result["data"]["requestUpload"]["upload"]
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    rid = str(ctx.world.residence.id)
    assert f"/residences/{rid}/documents/" in upload["url"]
    elsewhere = str(ctx.foreign_task.residence_id)  # type: ignore[attr-defined]
    retargeted = upload["url"].replace(rid, elsewhere)
    assert (await api.http.put(retargeted, content=PNG, headers=headers)).status_code == 403
    assert (await api.http.put(upload["url"], content=PNG, headers=headers)).status_code == 200
