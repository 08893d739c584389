"""Data exports: requestDataExport, the zip the job builds, its download link, limits, expiry and purge.

The build runs for real against the local backend here (and on PostgreSQL and SQLite); the S3 test server,
a real worker process and 200 MB of media are in ``test_data_exports_s3.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import json
import os
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from honeydue import models
from honeydue.data_exports import export_key
from honeydue.mail.render import render
from honeydue.models import (
    AccountPurge,
    DataExport,
    DataExportStatus,
    EmailDelivery,
    Media,
    MediaPurpose,
    MediaStatus,
    Notification,
    NotificationPreference,
    NotificationType,
)
from honeydue.services import Services, open_services, services_of
from honeydue.storage.base import ObjectNotFound, Storage, StorageUnavailable
from tests.conftest import GraphQLClient
from tests.plugins.domain import Actor, World, error_code, make_world
from workers import data_exports, purge
from workers.embedded import embedded_broker, run_embedded_jobs

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "docs" / "data-export.schema.json").read_text())
SAFE_ENTRY = re.compile(r"^(data\.json|files/[a-z-]+/[A-Za-z0-9._-]+)$")

REQUEST = """mutation { requestDataExport {
  dataExport { id status createdAt expiresAt url sizeBytes } userErrors { code message field } } }"""
LIST = "{ me { dataExports { id status createdAt expiresAt url sizeBytes } } }"
MEMBERS_EXPORTS = """query($id: ID!) { residence(id: $id) { members { user { id dataExports { id } } } } }"""


@pytest.fixture
async def world(settings) -> World:
    made = await make_world()
    for actor in (made.owner, made.editor, made.viewer, made.outsider):  # email goes to verified addresses only
        actor.user.email_verified = True
        await actor.user.save(update_fields=["email_verified"])
    return made


@pytest.fixture
def services(api_app) -> Services:
    return services_of(api_app)


@pytest.fixture
def storage(services: Services) -> Storage:
    return services.storage


@pytest.fixture
def links(services: Services) -> data_exports.ExportLinks:
    return data_exports.ExportLinks(services.signing_keys, services.settings.effective_public_gateway_url)


def jpeg(size: int, seed: str) -> bytes:
    head = b"\xff\xd8\xff\xe0"
    block = hashlib.sha256(seed.encode()).digest()
    return head + (block * (size // len(block) + 1))[: size - len(head)]


async def stored_media(storage: Storage, owner: Actor, purpose: MediaPurpose, key: str, body: bytes, *,
                       filename: str = "photo.jpg", content_type: str = "image/jpeg", **links: object) -> Media:
    await storage.put_bytes(key, body, content_type)
    return await Media.create(key=key, owner=owner.user, purpose=purpose, filename=filename,
                              content_type=content_type, size=len(body), status=MediaStatus.READY,
                              finalized_at=datetime.now(UTC), **links)


async def seed(storage: Storage, world: World) -> dict[str, bytes]:
    """The owner's data: avatar, a task with a completion and photos, a document with a file, a notification.

    Returns the bytes of each of the owner's READY files by media id (what the zip must hold).
    """
    owner, editor = world.owner, world.editor
    home = world.residence
    task = await models.Task.create(residence=home, title="Replace filter", created_by=owner.user,
                                    frequency=models.TaskFrequency.MONTHLY, due_date=datetime.now(UTC).date())
    plumber = await models.Contractor.create(residence=home, name="Pat Plumber", specialties=["plumbing"])
    completion = await models.TaskCompletion.create(task=task, completed_at=datetime.now(UTC),
                                                    completed_by=owner.user, notes="done", cost_cents=1299,
                                                    contractor=plumber)
    document = await models.Document.create(residence=home, title="Boiler manual", created_by=owner.user,
                                            kind=models.DocumentKind.MANUAL)
    files: dict[str, bytes] = {}
    avatar = await stored_media(storage, owner, MediaPurpose.AVATAR, f"users/{owner.id}/profile/{uuid.uuid4()}.png",
                                b"\x89PNG\r\n\x1a\n" + os.urandom(3000), filename="me.png",
                                content_type="image/png", target_id=owner.user.id)
    owner.user.avatar_id = avatar.id
    await owner.user.save(update_fields=["avatar_id"])
    files[str(avatar.id)] = await read_object(storage, avatar.key)
    photo_body = jpeg(70_000, "photo")
    photo = await stored_media(storage, owner, MediaPurpose.COMPLETION_PHOTO,
                               f"tasks/{task.id}/completions/{uuid.uuid4()}.jpg", photo_body,
                               filename="../../Ünïcode \"evil\"\u202e name.jpg", target_id=task.id,
                               residence_id=home.id, completion_id=completion.id)
    files[str(photo.id)] = photo_body
    pdf_body = b"%PDF-1.7\n" + os.urandom(20_000)
    pdf = await stored_media(storage, owner, MediaPurpose.DOCUMENT_FILE,
                             f"residences/{home.id}/documents/{uuid.uuid4()}.pdf", pdf_body, filename="manual.pdf",
                             content_type="application/pdf", target_id=home.id, residence_id=home.id,
                             document_id=document.id)
    files[str(pdf.id)] = pdf_body
    # Someone else's photo on the owner's completion: listed by id, not copied (it is the editor's data).
    await stored_media(storage, editor, MediaPurpose.COMPLETION_PHOTO,
                       f"tasks/{task.id}/completions/{uuid.uuid4()}.jpg", jpeg(5000, "editor"),
                       target_id=task.id, residence_id=home.id, completion_id=completion.id)
    # Not READY: never exported.
    await Media.create(key=f"users/{owner.id}/profile/{uuid.uuid4()}.jpg", owner=owner.user,
                       purpose=MediaPurpose.AVATAR, filename="p.jpg", content_type="image/jpeg", size=10,
                       status=MediaStatus.PENDING)
    await Notification.create(user=owner.user, type=NotificationType.TASK_DUE_SOON, title="Replace filter is due",
                              task=task)
    await NotificationPreference.create(user=owner.user, type=NotificationType.TASK_OVERDUE, enabled=False,
                                        hour_of_day=7)
    return files


async def read_object(storage: Storage, key: str) -> bytes:
    stream = await storage.open(key)
    try:
        return b"".join([chunk async for chunk in stream.chunks])
    finally:
        await stream.aclose()


async def request_export(api: GraphQLClient, actor: Actor) -> dict:
    result = await api.execute(REQUEST, token=actor.token)
    assert "errors" not in result, result
    return result["data"]["requestDataExport"]


async def build(export_id: str, storage: Storage, links: data_exports.ExportLinks) -> bool:
    return await data_exports.build_data_export(export_id, storage, links)


async def listed(api: GraphQLClient, actor: Actor) -> list[dict]:
    result = await api.execute(LIST, token=actor.token)
    assert "errors" not in result, result
    return result["data"]["me"]["dataExports"]


def gateway_path(url: str) -> str:
    return url.removeprefix("http://testserver")


# --- the whole flow -------------------------------------------------------------------------------------


async def test_export_holds_the_users_data_and_files_and_downloads_by_its_link(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner = world.owner
    files = await seed(storage, world)
    missing = await Media.create(key=f"users/{owner.id}/profile/{uuid.uuid4()}.jpg", owner=owner.user,
                                 purpose=MediaPurpose.AVATAR, filename="lost.jpg", content_type="image/jpeg", size=9,
                                 status=MediaStatus.READY, finalized_at=datetime.now(UTC))

    payload = await request_export(api, owner)
    assert payload["userErrors"] == []
    export = payload["dataExport"]
    assert export["status"] == "PENDING" and export["url"] is None and export["sizeBytes"] is None
    assert await build(export["id"], storage, links) is True

    [shown] = await listed(api, owner)
    assert shown["id"] == export["id"] and shown["status"] == "READY"
    row = await DataExport.get(id=export["id"])
    assert shown["sizeBytes"] == row.size_bytes > 0
    expires = datetime.fromisoformat(shown["expiresAt"])
    assert timedelta(days=7) <= expires - row.ready_at <= timedelta(days=7, hours=1)
    assert expires.minute == 0 and expires.second == 0  # on the signing window: the link ends with it
    assert f"exp={int(expires.timestamp())}&" in shown["url"]

    # The link: no session, no redirect, the whole zip as a download; ranges like any media.
    response = await api.http.get(gateway_path(shown["url"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="honeydue-data-export-')
    assert int(response.headers["content-length"]) == row.size_bytes == len(response.content)
    ranged = await api.http.get(gateway_path(shown["url"]), headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"PK\x03\x04"
    assert ranged.headers["content-range"] == f"bytes 0-3/{row.size_bytes}"

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = archive.namelist()
    assert all(SAFE_ENTRY.match(name) for name in names), names
    data = json.loads(archive.read("data.json"))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(data)
    assert data["format"] == "honeydue.data-export" and data["version"] == 1

    # Every file of the owner's, byte for byte, where data.json says; nobody else's; nothing twice.
    by_id = {entry["id"]: entry for entry in data["files"]}
    assert set(by_id) == {*files, str(missing.id)}
    for media_id, body in files.items():
        entry = by_id[media_id]
        assert archive.read(entry["path"]) == body
        assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["size"] == len(body)
    assert by_id[str(missing.id)]["path"] is None and by_id[str(missing.id)]["sha256"] is None
    assert sorted(names) == sorted(["data.json", *(by_id[m]["path"] for m in files)])
    for info in archive.infolist():
        assert info.compress_type == (zipfile.ZIP_DEFLATED if info.filename == "data.json" else zipfile.ZIP_STORED)

    assert data["profile"]["email"] == owner.user.email and data["profile"]["avatarFileId"] in files
    assert [(r["name"], r["role"]) for r in data["residences"]] == [("Home", "OWNER")]
    assert [t["title"] for t in data["tasks"]] == ["Replace filter"]
    [completion] = data["completions"]
    assert completion["costCents"] == 1299 and len(completion["photoFileIds"]) == 2  # the editor's too, by id
    [plumber] = data["contractors"]
    assert plumber["name"] == "Pat Plumber" and completion["contractorId"] == plumber["id"]
    assert [d["title"] for d in data["documents"]] == ["Boiler manual"]
    assert len(data["documents"][0]["fileIds"]) == 1
    assert [n["title"] for n in data["notifications"]] == ["Replace filter is due"]
    preferences = {p["type"]: p for p in data["preferences"]}
    assert set(preferences) == {t.value for t in NotificationType}
    assert preferences["TASK_OVERDUE"] == {"type": "TASK_OVERDUE", "enabled": False, "hourOfDay": 7, "stored": True,
                                           "push": None, "email": None, "webhook": None, "apprise": None}

    # The zip is a READY DATA_EXPORT media row of the owner's; the owner is told in the app and by email.
    media = await Media.get(key=export_key(owner.user.id, export["id"]))
    assert (media.purpose, media.status, media.owner_id, media.residence_id) == (
        MediaPurpose.DATA_EXPORT, MediaStatus.READY, owner.user.id, None)
    [notice] = await Notification.filter(user_id=owner.user.id, type=NotificationType.DATA_EXPORT_READY)
    assert "ready" in notice.title
    [email] = await EmailDelivery.filter(user_id=owner.user.id, kind="data_export_ready")
    assert email.to == owner.user.email and email.transactional
    assert email.context["download_url"] == shown["url"]
    rendered = render("data_export_ready", {**email.context, "app_url": "http://app.test"})
    assert shown["url"] in rendered.text and html.escape(shown["url"]) in rendered.html
    assert "ready" in rendered.subject


# Credentials planted in the rows below; none may appear anywhere in data.json.
SECRETS = ("apns-token-SECRET", "web-endpoint-SECRET", "p256dh-SECRET", "auth-SECRET", "sealed-url-SECRET",
           "sealed-secret-SECRET", "path-token-SECRET", "action-token-SECRET")


async def test_export_holds_devices_channels_deliveries_preferences_and_audit_but_no_credentials(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner, now = world.owner, datetime.now(UTC)
    phone = await models.Device.create(user=owner.user, platform=models.DevicePlatform.IOS, token="apns-token-SECRET",
                                       token_hash=uuid.uuid4().hex, app_version="2.4.1", locale="en-US",
                                       last_seen_at=now)
    browser = await models.Device.create(
        user=owner.user, platform=models.DevicePlatform.WEB, token="web-endpoint-SECRET", token_hash=uuid.uuid4().hex,
        web_push_endpoint="https://push.example.test/web-endpoint-SECRET", web_push_p256dh="p256dh-SECRET",
        web_push_auth="auth-SECRET", last_seen_at=now, dead_at=now, dead_reason="410 Gone")
    channel = await models.NotificationChannel.create(
        user=owner.user, kind=models.NotificationChannelKind.WEBHOOK, name="Home hook", url_sealed="sealed-url-SECRET",
        secret_sealed="sealed-secret-SECRET", url_hint="https://hooks.example.test/…", dead_at=now,
        dead_reason="410 Gone")
    notice = await Notification.create(user=owner.user, type=NotificationType.TASK_OVERDUE, title="Overdue")
    failed = await models.NotificationDelivery.create(
        user=owner.user, notification=notice, kind=models.DeliveryKind.WEBHOOK, target_id=channel.id,
        status=models.DeliveryStatus.FAILED, attempts=3, next_attempt_at=now,
        last_error="500 for url 'https://hooks.example.test/hook/path-token-SECRET'",
        message={"actions": ["https://app.test/act?token=action-token-SECRET"]})
    pushed = await models.NotificationDelivery.create(
        user=owner.user, notification=notice, kind=models.DeliveryKind.IOS, target_id=phone.id,
        status=models.DeliveryStatus.SENT, attempts=1, sent_at=now, next_attempt_at=now)
    await NotificationPreference.create(user=owner.user, type=NotificationType.TASK_DUE_SOON, enabled=True,
                                        hour_of_day=9, push=False, webhook=True)
    await models.AuditEntry.create(actor=world.outsider.user, action="adminSetUserDisabled", target_type="User",
                                   target_id=owner.id, reason="Reported for spam", details={"disabled": True})
    # Someone else's rows: not in the owner's export.
    await models.Device.create(user=world.editor.user, platform=models.DevicePlatform.ANDROID, token="other",
                               token_hash=uuid.uuid4().hex, app_version="9.9.9", last_seen_at=now)
    await models.AuditEntry.create(actor=world.outsider.user, action="adminRevokeSessions", target_type="User",
                                   target_id=world.editor.id)
    await models.AuditEntry.create(actor=world.outsider.user, action="adminRunJob", target_type="Job",
                                   target_id="expire_generated_files")

    export = (await request_export(api, owner))["dataExport"]
    assert await build(export["id"], storage, links) is True
    media = await Media.get(key=export_key(owner.user.id, export["id"]))
    text = zipfile.ZipFile(io.BytesIO(await read_object(storage, media.key))).read("data.json").decode()
    data = json.loads(text)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(data)

    assert [s for s in SECRETS if s in text] == []
    assert world.outsider.id not in text  # the acting admin is not named
    devices = {d["id"]: d for d in data["devices"]}
    assert set(devices) == {str(phone.id), str(browser.id)}
    assert devices[str(phone.id)] == {
        "id": str(phone.id), "platform": "IOS", "appVersion": "2.4.1", "locale": "en-US",
        "createdAt": phone.created_at.isoformat(), "lastSeenAt": phone.last_seen_at.isoformat(), "deadAt": None}
    assert devices[str(browser.id)]["platform"] == "WEB" and devices[str(browser.id)]["deadAt"] is not None
    [shown_channel] = data["notificationChannels"]
    assert shown_channel == {"id": str(channel.id), "kind": "WEBHOOK", "name": "Home hook",
                             "urlHint": "https://hooks.example.test/…", "createdAt": channel.created_at.isoformat(),
                             "deadAt": channel.dead_at.isoformat(), "deadReason": "410 Gone"}
    deliveries = {d["id"]: d for d in data["notificationDeliveries"]}
    assert set(deliveries) == {str(failed.id), str(pushed.id)}
    shown_failed = deliveries[str(failed.id)]
    assert (shown_failed["kind"], shown_failed["status"], shown_failed["attempts"], shown_failed["targetId"],
            shown_failed["notificationId"]) == ("WEBHOOK", "FAILED", 3, str(channel.id), str(notice.id))
    assert shown_failed["lastError"] == "500 for url 'https://hooks.example.test/…'"  # the URL reduced to its hint
    assert shown_failed["sentAt"] is None
    assert (deliveries[str(pushed.id)]["kind"], deliveries[str(pushed.id)]["status"],
            deliveries[str(pushed.id)]["targetId"]) == ("IOS", "SENT", str(phone.id))
    assert deliveries[str(pushed.id)]["sentAt"] is not None
    preferences = {p["type"]: p for p in data["preferences"]}
    assert preferences["TASK_DUE_SOON"] == {"type": "TASK_DUE_SOON", "enabled": True, "hourOfDay": 9, "stored": True,
                                            "push": False, "email": None, "webhook": True, "apprise": None}
    assert preferences["WARRANTY_EXPIRING"]["stored"] is False and preferences["WARRANTY_EXPIRING"]["push"] is None
    [audit] = data["auditEntries"]
    assert (audit["action"], audit["reason"], audit["details"]) == (
        "adminSetUserDisabled", "Reported for spam", {"disabled": True})
    assert set(audit) == {"id", "action", "reason", "details", "createdAt"}


async def test_a_co_member_cannot_read_someone_elses_exports(api: GraphQLClient, world: World) -> None:
    result = await api.execute(MEMBERS_EXPORTS, {"id": world.rid}, token=world.editor.token)
    assert error_code(result) == "FORBIDDEN"


async def test_anonymous_callers_are_unauthenticated(api: GraphQLClient, settings) -> None:
    assert error_code(await api.execute(REQUEST)) == "UNAUTHENTICATED"
    assert await DataExport.all().count() == 0


async def test_request_upload_cannot_name_the_data_export_purpose(api: GraphQLClient, world: World) -> None:
    result = await api.execute('mutation { requestUpload(input: {purpose: DATA_EXPORT, filename: "a.zip", '
                               'contentType: "application/zip", size: 10}) { userErrors { code } } }',
                               token=world.owner.token)
    assert result.get("data") is None and "DATA_EXPORT" in result["errors"][0]["message"]
    assert not await Media.filter(purpose=MediaPurpose.DATA_EXPORT).exists()


# --- limits -----------------------------------------------------------------------------------------------


async def test_one_export_in_flight_and_one_a_day(api: GraphQLClient, world: World, storage: Storage,
                                                 links: data_exports.ExportLinks) -> None:
    owner = world.owner
    first = (await request_export(api, owner))["dataExport"]
    again = await request_export(api, owner)
    assert again["dataExport"] is None
    assert [e["code"] for e in again["userErrors"]] == ["EXPORT_LIMIT"]
    assert "already being prepared" in again["userErrors"][0]["message"]

    await build(first["id"], storage, links)
    next_day = await request_export(api, owner)
    assert [e["code"] for e in next_day["userErrors"]] == ["EXPORT_LIMIT"]
    assert "One data export a day" in next_day["userErrors"][0]["message"]
    assert [e["id"] for e in await listed(api, owner)] == [first["id"]]

    # A day later the next one is allowed; another user was never limited by this one.
    await DataExport.filter(id=first["id"]).update(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
    assert (await request_export(api, owner))["userErrors"] == []
    assert (await request_export(api, world.editor))["userErrors"] == []


async def test_a_failed_export_does_not_count_against_the_day(api: GraphQLClient, world: World) -> None:
    first = (await request_export(api, world.owner))["dataExport"]
    await DataExport.filter(id=first["id"]).update(status=DataExportStatus.FAILED)
    second = await request_export(api, world.owner)
    assert second["userErrors"] == [] and second["dataExport"]["status"] == "PENDING"
    assert [e["status"] for e in await listed(api, world.owner)] == ["PENDING", "FAILED"]


async def test_concurrent_requests_make_one_export(api: GraphQLClient, world: World) -> None:
    results = await asyncio.gather(*(request_export(api, world.owner) for _ in range(5)))
    assert sum(1 for r in results if r["dataExport"] is not None) == 1
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["EXPORT_LIMIT"] * 4
    assert await DataExport.filter(user_id=world.owner.user.id).count() == 1


async def test_an_unverified_address_gets_the_notification_but_no_email(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner = world.owner
    await models.User.filter(id=owner.user.id).update(email_verified=False)
    export = (await request_export(api, owner))["dataExport"]
    assert await build(export["id"], storage, links)
    assert await Notification.filter(user_id=owner.user.id, type=NotificationType.DATA_EXPORT_READY).exists()
    assert not await EmailDelivery.filter(user_id=owner.user.id).exists()


# --- preferences, failures, the account going away ------------------------------------------------------


async def test_turning_the_type_off_stops_the_in_app_notification_not_the_email(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner = world.owner
    await NotificationPreference.create(user=owner.user, type=NotificationType.DATA_EXPORT_READY, enabled=False)
    export = (await request_export(api, owner))["dataExport"]
    assert await build(export["id"], storage, links)
    assert (await DataExport.get(id=export["id"])).status == DataExportStatus.READY
    assert not await Notification.filter(user_id=owner.user.id, type=NotificationType.DATA_EXPORT_READY).exists()
    assert await EmailDelivery.filter(user_id=owner.user.id, kind="data_export_ready").exists()


class BrokenStore:
    """The real store, except that reading an object fails as an outage does."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> object:
        raise StorageUnavailable("the store did not answer")


async def test_a_failing_build_is_retried_by_the_sweeper_then_fails(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    await seed(storage, world)
    export = (await request_export(api, world.owner))["dataExport"]
    export_id = export["id"]
    broken = BrokenStore(storage)
    for attempt in range(1, data_exports.MAX_ATTEMPTS + 1):
        with pytest.raises(StorageUnavailable):
            await build(export_id, broken, links)  # type: ignore[arg-type]
        row = await DataExport.get(id=export_id)
        assert row.attempts == attempt and row.claimed_at is None and "StorageUnavailable" in row.last_error
    assert row.status == DataExportStatus.FAILED
    # Nothing half-written is left under the key, and no media row was made.
    with pytest.raises(ObjectNotFound):
        await storage.head(export_key(world.owner.user.id, export_id))
    assert not await Media.filter(purpose=MediaPurpose.DATA_EXPORT).exists()
    assert await build(export_id, storage, links) is False  # a late message does nothing
    [shown] = await listed(api, world.owner)
    assert shown["status"] == "FAILED" and shown["url"] is None


async def test_sweeper_resends_lost_builds_and_fails_exhausted_ones(settings, world: World) -> None:
    now = datetime.now(UTC)
    lost = await DataExport.create(user=world.owner.user)
    dead_worker = await DataExport.create(user=world.editor.user, claimed_at=now - timedelta(hours=2), attempts=1)
    running = await DataExport.create(user=world.viewer.user, claimed_at=now - timedelta(minutes=5), attempts=1)
    exhausted = await DataExport.create(user=world.outsider.user, attempts=data_exports.MAX_ATTEMPTS)
    just_asked = await DataExport.create(user=(await make_world()).owner.user)
    await DataExport.filter(id__in=[lost.id, dead_worker.id, running.id, exhausted.id]).update(
        created_at=now - timedelta(hours=3))
    sent: list[str] = []
    resent = await data_exports.sweep_data_exports(now, sent.append)
    assert sorted(resent) == sorted(sent) == sorted([str(lost.id), str(dead_worker.id)])
    assert (await DataExport.get(id=exhausted.id)).status == DataExportStatus.FAILED
    assert (await DataExport.get(id=running.id)).status == DataExportStatus.PENDING
    assert (await DataExport.get(id=just_asked.id)).status == DataExportStatus.PENDING


class DeletesAccountOnCommit:
    """The real store; committing an export's zip first deletes its owner (the account goes mid-build)."""

    def __init__(self, inner: Storage, user: models.User) -> None:
        self.inner = inner
        self.user = user

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def open_writer(self, key: str, content_type: str) -> object:
        writer = self.inner.open_writer(key, content_type)
        user = self.user

        class Writer:
            async def write(self, data: bytes) -> None:
                await writer.write(data)

            async def commit(self) -> object:
                await user.delete()
                return await writer.commit()

            async def abort(self) -> None:
                await writer.abort()

        return Writer()


async def test_a_build_that_outlives_its_account_deletes_its_zip(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner = world.owner
    export = (await request_export(api, owner))["dataExport"]
    assert await build(export["id"], DeletesAccountOnCommit(storage, owner.user), links) is False  # type: ignore[arg-type]
    with pytest.raises(ObjectNotFound):
        await storage.head(export_key(owner.user.id, export["id"]))
    assert not await Media.filter(purpose=MediaPurpose.DATA_EXPORT).exists()


DELETE_ACCOUNT = """mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) { ok userErrors { code } } }"""


async def test_deleting_the_account_purges_its_exports_at_once(
    api: GraphQLClient, make_user, storage: Storage, links: data_exports.ExportLinks
) -> None:
    token, user = await make_user(password="correct horse battery")
    actor = Actor(await models.User.get(id=user["id"]), token)
    export = (await request_export(api, actor))["dataExport"]
    assert await build(export["id"], storage, links)
    key = export_key(user["id"], export["id"])
    await storage.head(key)
    result = await api.execute(DELETE_ACCOUNT, {"input": {"password": "correct horse battery"}}, token=token)
    assert result["data"]["deleteAccount"]["ok"] is True
    assert not await DataExport.filter(id=export["id"]).exists()
    assert not await Media.filter(key=key).exists()
    record = await AccountPurge.get(user_id=user["id"])
    assert f"exports/{user['id']}/" in record.prefixes
    await purge.purge_account(record.id, storage, datetime.now(UTC))
    with pytest.raises(ObjectNotFound):
        await storage.head(key)


# --- expiry -----------------------------------------------------------------------------------------------


async def test_expired_exports_are_deleted_and_their_link_dies(
    api: GraphQLClient, world: World, storage: Storage, links: data_exports.ExportLinks
) -> None:
    owner = world.owner
    old = (await request_export(api, owner))["dataExport"]
    await build(old["id"], storage, links)
    [ready] = await listed(api, owner)
    await DataExport.filter(id=old["id"]).update(created_at=datetime.now(UTC) - timedelta(days=2))
    fresh = (await request_export(api, owner))["dataExport"]
    await build(fresh["id"], storage, links)

    # A week on: the first has expired, the second not yet.
    await DataExport.filter(id=old["id"]).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    report = await data_exports.expire_data_exports(storage, datetime.now(UTC))
    assert report.expired == 1
    shown = {e["id"]: e for e in await listed(api, owner)}
    assert shown[old["id"]]["status"] == "EXPIRED" and shown[old["id"]]["url"] is None
    assert shown[old["id"]]["expiresAt"] is None
    assert shown[fresh["id"]]["status"] == "READY" and shown[fresh["id"]]["url"]
    with pytest.raises(ObjectNotFound):
        await storage.head(export_key(owner.user.id, old["id"]))
    assert not await Media.filter(key=export_key(owner.user.id, old["id"])).exists()
    assert (await api.http.get(gateway_path(ready["url"]))).status_code == 404
    await storage.head(export_key(owner.user.id, fresh["id"]))
    assert (await data_exports.expire_data_exports(storage, datetime.now(UTC))).expired == 0


# --- no Redis: the embedded in-process worker -----------------------------------------------------------


async def test_embedded_mode_builds_the_export_in_process(
    api: GraphQLClient, world: World, settings, storage: Storage
) -> None:
    assert settings.redis_url is None
    async with open_services(settings, broker=embedded_broker(settings), storage=storage, open_db=False) as services, \
            run_embedded_jobs(services, run_scheduler=False):
        export = (await request_export(api, world.owner))["dataExport"]
        for _ in range(400):
            if (await DataExport.get(id=export["id"])).status != DataExportStatus.PENDING:
                break
            await asyncio.sleep(0.05)
    [shown] = await listed(api, world.owner)
    assert shown["status"] == "READY", await DataExport.get(id=export["id"]).values("last_error")
    response = await api.http.get(gateway_path(shown["url"]))
    assert response.status_code == 200
    assert "data.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
