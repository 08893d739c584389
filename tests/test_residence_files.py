"""exportResidence / importResidence and the RESIDENCE_IMPORT upload, on the local backend and the S3 test server.

The file goes the way a user's would: exported, downloaded through the gateway link, uploaded again with
requestUpload (a PUT to the presigned link), finalized (parsed and schema-checked) and imported.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from honeydue import generated_files, models, residence_file
from honeydue.services import services_of
from honeydue.settings import Settings
from tests.conftest import GraphQLClient, make_settings
from tests.plugins.app_on_backends import running_app
from tests.plugins.s3 import STORAGE_BACKENDS
from tests.test_uploads import FINALIZE, join, ok, put, register, request, stored

EXPORT = """mutation($i: ExportResidenceInput!) {
  exportResidence(input: $i) { url expiresAt userErrors { field code message } } }"""
IMPORT = """mutation($i: ImportResidenceInput!) {
  importResidence(input: $i) { residence { id } userErrors { field code message } } }"""
# Everything a member sees of a residence, identities aside (ids, createdAt, members).
VIEW = """query($id: ID!) { residence(id: $id) {
  name address timezone type
  profile { yearBuilt heating cooling waterHeater roof hasPool hasSeptic hasFireplace hasBasement hasSprinklers
            climateRegion }
  contractors(first: 100) { edges { node { name company phone email website specialties notes favorite } } }
  tasks(first: 100, filter: {includeArchived: true}) { edges { node {
    title description category priority frequency intervalDays rolling dueDate inProgress cancelled archived
    completed lastCompletedAt column template { id } contractor { name } rotation { mode } snoozedUntil
    completions(first: 100) { edges { node { completedAt notes costCents skipped contractor { name } } } } } } }
  documents(first: 100) { edges { node { title kind notes expiresAt } } }
} }"""


@pytest.fixture(params=STORAGE_BACKENDS)
async def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    if request.param == "local":
        return settings
    return make_settings(tmp_path / "s3", DATABASE_URL=settings.database_url, **request.getfixturevalue("s3_env"))


@pytest.fixture
async def app_client(backend: Settings) -> AsyncIterator[tuple[GraphQLClient, object]]:
    async with running_app(backend) as pair:
        yield pair


@pytest.fixture
def gql(app_client: tuple[GraphQLClient, object]) -> GraphQLClient:
    return app_client[0]


@pytest.fixture
def storage(app_client: tuple[GraphQLClient, object]) -> object:
    return services_of(app_client[1]).storage  # type: ignore[arg-type]


def minimal_file(**residence: Any) -> dict[str, Any]:
    return {"format": "honeydue.residence", "version": 1, "contractors": [], "tasks": [], "documents": [],
            "residence": {"name": "Cabin", "address": "", "timezone": "UTC", "type": "CABIN", "profile": {},
                          **residence}}


def task_entry(**fields: Any) -> dict[str, Any]:
    return {"title": "Sweep", "description": "", "category": "CLEANING", "priority": "LOW", "frequency": "WEEKLY",
            "intervalDays": None, "rolling": False, "dueDate": "2026-12-01", "inProgress": False,
            "cancelled": False, "archived": False, "completed": False, "completions": [], **fields}


async def upload_file(gql: GraphQLClient, token: str, body: bytes, **extra: Any) -> dict:
    """requestUpload (RESIDENCE_IMPORT) -> PUT -> finalizeUpload; the finalize payload."""
    payload = await request(gql, token, purpose="RESIDENCE_IMPORT", data=body, content_type="application/json",
                            filename="home.honeydue", **extra)
    assert payload["userErrors"] == [], payload
    assert (await put(gql, payload["upload"], body)).status_code == 200
    data = await gql.execute(FINALIZE, {"id": payload["media"]["id"]}, token=token)
    return data["data"]["finalizeUpload"]


async def import_bytes(gql: GraphQLClient, token: str, body: bytes, key: str | None = None) -> dict:
    media = (await upload_file(gql, token, body))["media"]
    assert media["status"] == "READY", media
    return (await gql.execute(IMPORT, {"i": {"fileId": media["id"], "idempotencyKey": key}}, token=token))[
        "data"]["importResidence"]


async def view(gql: GraphQLClient, token: str, rid: str) -> dict:
    data = await gql.execute(VIEW, {"id": rid}, token=token)
    assert "errors" not in data, data
    return data["data"]["residence"]


async def furnished_residence(gql: GraphQLClient, token: str, user_id: str) -> str:
    """A residence with something in every field a user can set."""
    rid = (await ok(gql, """mutation($i: CreateResidenceInput!) { createResidence(input: $i) { residence { id }
        userErrors { code } } }""", {"i": {"name": "Maple Street", "address": "12 Maple St\nSpringfield",
                                            "timezone": "America/Chicago", "type": "TOWNHOUSE",
                                            "profile": {"yearBuilt": 1987, "heating": "BOILER", "hasPool": True,
                                                        "hasSeptic": False, "climateRegion": "COLD"}}},
                     token))["residence"]["id"]
    contractor = (await ok(gql, """mutation($i: CreateContractorInput!) { createContractor(input: $i) {
        contractor { id } userErrors { code } } }""", {"i": {
        "residenceId": rid, "name": "Ana Plumb", "company": "Plumb & Co", "phone": "+1 555 0100",
        "email": "ana@example.com", "website": "https://plumb.example", "specialties": ["plumbing", "Pest Control",
                                                                                       "tiles"],
        "notes": "Call before 9", "favorite": True}}, token))["contractor"]["id"]
    await ok(gql, """mutation($i: CreateContractorInput!) { createContractor(input: $i) { contractor { id }
        userErrors { code } } }""", {"i": {"residenceId": rid, "name": "Bo Roof"}}, token)
    created = await ok(gql, """mutation($i: CreateTasksInput!) { createTasks(input: $i) { tasks { id }
        userErrors { code } } }""", {"i": {"residenceId": rid, "tasks": [
        {"templateId": "gutters-clean", "contractorId": contractor},
        {"title": "Bleed radiators", "description": "Every one, top floor first", "category": "HVAC",
         "priority": "HIGH", "frequency": "CUSTOM", "intervalDays": 45, "rolling": True, "dueDate": "2026-12-24"},
        {"title": "Fix gate", "frequency": "ONCE", "dueDate": "2026-10-01", "priority": "URGENT"},
        {"title": "Old chore", "frequency": "MONTHLY", "dueDate": "2026-11-15"},
    ]}}, token)
    gutters, radiators, gate, old = (t["id"] for t in created["tasks"])
    for task_id, extra in ((gutters, {"notes": "Two bags of leaves", "costCents": 12500, "contractorId": contractor}),
                           (gutters, {"notes": "", "completedAt": "2026-09-01T15:30:00Z"}),
                           (gate, {"notes": "New hinge", "costCents": 899})):
        await ok(gql, """mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { id }
            userErrors { code message } } }""", {"i": {"taskId": task_id, **extra}}, token)
    await ok(gql, """mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id } userErrors { code } }
        }""", {"i": {"taskId": radiators, "inProgress": True}}, token)
    await ok(gql, """mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id } userErrors { code } }
        }""", {"i": {"taskId": old, "archived": True}}, token)
    await ok(gql, """mutation($i: UpdateTaskInput!) { updateTask(input: $i) { task { id } userErrors { code } } }""",
             {"i": {"taskId": radiators, "rotation": {"mode": "ROUND_ROBIN", "memberIds": [user_id]}}}, token)
    await ok(gql, """mutation($i: SkipTaskOccurrenceInput!) { skipTaskOccurrence(input: $i) { task { id }
        userErrors { code } } }""", {"i": {"taskId": radiators}}, token)
    await ok(gql, """mutation($i: SnoozeTaskInput!) { snoozeTask(input: $i) { task { id } userErrors { code } } }""",
             {"i": {"taskId": gutters, "until": (datetime.now(UTC) + timedelta(days=5)).date().isoformat()}}, token)
    for document in ({"title": "Boiler warranty", "kind": "WARRANTY", "notes": "Serial 42", "expiresAt": "2028-03-01"},
                     {"title": "Deed", "kind": "OTHER"}):
        await ok(gql, """mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id }
            userErrors { code } } }""", {"i": {"residenceId": rid, **document}}, token)
    return rid


async def download(gql: GraphQLClient, url: str) -> tuple[bytes, dict[str, str]]:
    parts = urlsplit(url)
    response = await gql.http.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    return response.content, dict(response.headers)


def comparable(view: dict) -> dict:
    """A residence's view with list order made stable (creation times differ between the two residences)."""
    def nodes(connection: dict, key: str) -> list:
        return sorted((edge["node"] for edge in connection["edges"]), key=lambda n: json.dumps(n, sort_keys=True))
    out = dict(view)
    out["contractors"] = nodes(view["contractors"], "name")
    out["documents"] = nodes(view["documents"], "title")
    tasks = []
    for edge in view["tasks"]["edges"]:
        task = dict(edge["node"])
        task["completions"] = nodes(task["completions"], "completedAt")
        tasks.append(task)
    out["tasks"] = sorted(tasks, key=lambda t: json.dumps(t, sort_keys=True))
    return out


# --- export, and the round trip ---------------------------------------------------------------------------


async def test_export_then_import_keeps_everything_a_user_sees(gql: GraphQLClient, storage: object,
                                                               backend: Settings) -> None:
    owner, owner_id = await register(gql)
    rid = await furnished_residence(gql, owner, owner_id)
    before = datetime.now(UTC)  # bracketing the call: the link's end is rounded up from the service's now
    exported = await ok(gql, EXPORT, {"i": {"residenceId": rid}}, owner)
    after = datetime.now(UTC)
    expires = datetime.fromisoformat(exported["expiresAt"])
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=25)
    body, headers = await download(gql, exported["url"])  # at once: built before the answer
    assert headers["content-type"] == "application/json"
    assert "attachment" in headers["content-disposition"] and "Maple Street.honeydue" in unquote(
        headers["content-disposition"])
    document = json.loads(body)
    jsonschema.Draft202012Validator(residence_file.schema()).validate(document)
    assert document["format"] == "honeydue.residence" and document["version"] == 1
    assert {t["title"] for t in document["tasks"]} >= {"Bleed radiators", "Fix gate", "Old chore"}
    done = [c for t in document["tasks"] for c in t["completions"]]
    assert {c["completedBy"] for c in done} == {"U"}  # a display name, never an id
    assert "Ana Plumb" in body.decode() and "ana@example.com" in body.decode()
    row = await models.Media.get(key=urlsplit(exported["url"]).path.removeprefix("/media/"))
    assert row.key.startswith(f"exports/{row.owner_id}/") and row.purpose == models.MediaPurpose.RESIDENCE_EXPORT

    importer, importer_id = await register(gql)
    imported = await import_bytes(gql, importer, body)
    assert imported["userErrors"] == [], imported
    new_id = imported["residence"]["id"]
    assert new_id != rid
    before, after = comparable(await view(gql, owner, rid)), comparable(await view(gql, importer, new_id))
    for field in before:
        assert after[field] == before[field], field
    assert len(before["tasks"]) == 4 and sum(len(t["completions"]) for t in before["tasks"]) == 4
    assert {t["rotation"]["mode"] for t in before["tasks"]} == {"FIXED", "ROUND_ROBIN"}
    assert any(t["snoozedUntil"] for t in before["tasks"])
    assert any(c["skipped"] for t in before["tasks"] for c in t["completions"])
    membership = await models.Membership.get(residence_id=new_id)
    assert str(membership.user_id) == importer_id and membership.role == models.ResidenceRole.OWNER
    assert not await models.TaskCompletion.filter(task__residence_id=new_id).exclude(completed_by_id=None).exists()
    rotating = await models.Task.get(residence_id=new_id, rotation_mode="ROUND_ROBIN")
    (member,) = await models.TaskRotationMember.filter(task_id=rotating.id)
    assert str(member.user_id) == str(rotating.assignee_id) == importer_id  # the importer takes turns alone
    # The import file was consumed: row and object gone.
    assert not await models.Media.filter(owner_id=importer_id, purpose=models.MediaPurpose.RESIDENCE_IMPORT).exists()


async def test_any_member_may_export_and_nobody_else(gql: GraphQLClient, storage: object) -> None:
    owner, _ = await register(gql)
    viewer, _ = await register(gql)
    stranger, _ = await register(gql)
    rid = (await ok(gql, "mutation { createResidence(input: {name: \"Flat\"}) { residence { id } "
                         "userErrors { code } } }", {}, owner))["residence"]["id"]
    await join(gql, owner, viewer, rid, "VIEWER")
    assert (await ok(gql, EXPORT, {"i": {"residenceId": rid}}, viewer))["url"]
    refused = await gql.execute(EXPORT, {"i": {"residenceId": rid}}, token=stranger)
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = await gql.execute(EXPORT, {"i": {"residenceId": "not-an-id"}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- import of a hand-written file -----------------------------------------------------------------------


async def test_import_of_a_hand_written_file(gql: GraphQLClient, storage: object) -> None:
    token, _ = await register(gql)
    written = minimal_file(profile={"hasSeptic": True, "roof": "METAL"})
    written["contractors"] = [{"ref": "jo", "name": "Jo Septic", "company": "", "phone": "", "email": "",
                               "website": "", "specialties": ["septic"], "notes": "", "favorite": False}]
    written["tasks"] = [task_entry(title="Pump the tank", frequency="ANNUAL", contractorRef="jo", completions=[
        {"completedAt": "2025-05-01T09:00:00+02:00", "notes": "All fine", "costCents": 30000, "contractorRef": "jo",
         "completedBy": "Someone"}])]
    written["documents"] = [{"title": "Permit", "kind": "PERMIT", "notes": "", "expiresAt": None}]
    result = await import_bytes(gql, token, json.dumps(written).encode())
    assert result["userErrors"] == [], result
    seen = await view(gql, token, result["residence"]["id"])
    assert seen["name"] == "Cabin" and seen["type"] == "CABIN" and seen["profile"]["hasSeptic"] is True
    (task,) = [e["node"] for e in seen["tasks"]["edges"]]
    assert task["title"] == "Pump the tank" and task["contractor"] == {"name": "Jo Septic"}
    (completion,) = [e["node"] for e in task["completions"]["edges"]]
    assert completion["completedAt"].startswith("2025-05-01T07:00:00") and completion["costCents"] == 30000
    assert completion["contractor"] == {"name": "Jo Septic"}
    assert [e["node"]["title"] for e in seen["documents"]["edges"]] == ["Permit"]


async def test_import_is_idempotent_and_a_file_imports_once(gql: GraphQLClient, storage: object) -> None:
    token, user_id = await register(gql)
    media = (await upload_file(gql, token, json.dumps(minimal_file()).encode()))["media"]
    first = await gql.execute(IMPORT, {"i": {"fileId": media["id"], "idempotencyKey": "k1"}}, token=token)
    again = await gql.execute(IMPORT, {"i": {"fileId": media["id"], "idempotencyKey": "k1"}}, token=token)
    assert first["data"]["importResidence"]["residence"]["id"] == again["data"]["importResidence"]["residence"]["id"]
    assert await models.Membership.filter(user_id=user_id).count() == 1
    plain = await gql.execute(IMPORT, {"i": {"fileId": media["id"]}}, token=token)
    assert plain["data"]["importResidence"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await models.Membership.filter(user_id=user_id).count() == 1


async def test_import_refusals_change_nothing(gql: GraphQLClient, storage: object) -> None:
    token, user_id = await register(gql)
    other, _ = await register(gql)
    too_many = minimal_file()
    too_many["tasks"] = [task_entry() for _ in range(residence_file.MAX_TASKS + 1)]
    result = await import_bytes(gql, token, json.dumps(too_many).encode())
    assert result["userErrors"] == [{"field": ["fileId"], "code": "INVALID_INPUT", "message":
                                     "The file holds 1001 tasks; an import takes at most 1000."}]
    dangling = minimal_file(timezone="Mars/Olympus")
    dangling["tasks"] = [task_entry(contractorRef="nobody")]
    result = await import_bytes(gql, token, json.dumps(dangling).encode())
    messages = [e["message"] for e in result["userErrors"]]
    assert any(m.startswith("residence.timezone:") for m in messages)
    assert "tasks[0].contractorRef: no contractor has the ref 'nobody'." in messages
    # Someone else's file, and a file not finalized yet.
    theirs = (await upload_file(gql, other, json.dumps(minimal_file()).encode()))["media"]
    result = (await gql.execute(IMPORT, {"i": {"fileId": theirs["id"]}}, token=token))["data"]["importResidence"]
    assert result["userErrors"][0]["code"] == "NOT_FOUND"
    pending = await request(gql, token, purpose="RESIDENCE_IMPORT", data=b"{}", content_type="application/json")
    result = (await gql.execute(IMPORT, {"i": {"fileId": pending["media"]["id"]}}, token=token))["data"][
        "importResidence"]
    assert result["userErrors"][0]["code"] == "MEDIA_NOT_READY"
    assert not await models.Membership.filter(user_id=user_id).exists()


# --- the RESIDENCE_IMPORT upload ----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "reason"), [
    (b"PK\x03\x04 not json", "The file's content is not application/json."),
    (b'{"format": "honeydue.residence", "version": 1,', "The file is not JSON: "),
    (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", "The file nests arrays and objects more than 16 deep."),
    (b'{"format": "honeydue.residence", "version": 2}', "The file is version 2; this server reads version 1."),
    (b'{"format": "somebody.else"}', 'The file is not a honeydue residence file'),
    (json.dumps({**minimal_file(), "tasks": [task_entry(priority="WHENEVER")]}).encode(),
     "tasks[0].priority: 'WHENEVER' is not one of"),
    (json.dumps(minimal_file(name="Tab\tok but \u0001 not")).encode(),
     "residence.name: text may not contain control characters"),
])
async def test_finalize_rejects_what_is_not_a_residence_file(gql: GraphQLClient, storage: object, body: bytes,
                                                             reason: str) -> None:
    token, _ = await register(gql)
    finalized = await upload_file(gql, token, body)
    media = finalized["media"]
    assert media["status"] == "REJECTED" and media["rejectReason"].startswith(reason), media
    row = await models.Media.get(id=media["id"])
    assert not await stored(storage, row.key)


async def test_import_upload_rules(gql: GraphQLClient, storage: object) -> None:
    token, user_id = await register(gql)
    # JSON is taken though STORAGE_ALLOWED_TYPES (images and PDF here) does not list it; the key is the user's.
    media = (await upload_file(gql, token, json.dumps(minimal_file()).encode()))["media"]
    row = await models.Media.get(id=media["id"])
    assert row.key.startswith(f"users/{user_id}/imports/") and row.target_id is None and row.residence_id is None
    wrong_type = await request(gql, token, purpose="RESIDENCE_IMPORT", content_type="image/png")
    assert [e["code"] for e in wrong_type["userErrors"]] == ["TYPE_NOT_ALLOWED"]
    with_target = await request(gql, token, purpose="RESIDENCE_IMPORT", content_type="application/json",
                                target=str(uuid.uuid4()), data=b"{}")
    assert with_target["userErrors"][0]["field"] == ["targetId"]
    # The server-made purpose cannot be asked for.
    made = await gql.execute("mutation { requestUpload(input: {purpose: RESIDENCE_EXPORT, filename: \"x\", "
                             "contentType: \"application/json\", size: 2}) { userErrors { code } } }", token=token)
    assert made["errors"]


# --- generated files expire --------------------------------------------------------------------------------


async def test_generated_files_expire_after_their_link(gql: GraphQLClient, storage: object) -> None:
    token, _ = await register(gql)
    rid = (await ok(gql, "mutation { createResidence(input: {name: \"Flat\"}) { residence { id } "
                         "userErrors { code } } }", {}, token))["residence"]["id"]
    url = (await ok(gql, EXPORT, {"i": {"residenceId": rid}}, token))["url"]
    row = await models.Media.get(key=urlsplit(url).path.removeprefix("/media/"))
    now = datetime.now(UTC)
    assert await generated_files.expire_generated_files(storage, now + timedelta(hours=24)) == 0  # link still works
    assert await generated_files.expire_generated_files(storage, now + timedelta(hours=25, minutes=1)) == 1
    assert not await models.Media.exists(id=row.id) and not await stored(storage, row.key)
