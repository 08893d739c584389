"""Documents over GraphQL: create/update/delete with files, reading, and who may do it."""

from __future__ import annotations

import pytest

from honeydue import models
from honeydue.models import MediaPurpose, MediaStatus
from tests.plugins.domain import World, error_code, make_world, ready_media

FIELDS = "id title kind notes expiresAt residence { id } files { id filename }"
CREATE = f"""mutation($i: CreateDocumentInput!) {{ createDocument(input: $i) {{ document {{ {FIELDS} }}
  userErrors {{ field code }} }} }}"""
UPDATE = f"""mutation($i: UpdateDocumentInput!) {{ updateDocument(input: $i) {{ document {{ {FIELDS} }}
  userErrors {{ field code }} }} }}"""
DELETE = "mutation($i: DeleteDocumentInput!) { deleteDocument(input: $i) { deletedId document { id } } }"
DOCUMENT = f"query($id: ID!) {{ document(id: $id) {{ {FIELDS} }} }}"
LIST = """query($id: ID!, $after: String) { residence(id: $id) { documents(first: 2, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { title files { id } } } } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def file_for(world: World, **overrides: object) -> models.Media:
    owner = overrides.pop("owner", world.editor)
    return await ready_media(owner, overrides.pop("purpose", MediaPurpose.DOCUMENT_FILE),  # type: ignore[arg-type]
                             overrides.pop("target", world.residence.id), world.residence.id,  # type: ignore[arg-type]
                             overrides.pop("status", MediaStatus.READY))  # type: ignore[arg-type]


async def test_create_document_with_files(api, world) -> None:
    file = await file_for(world)
    result = await api.execute(CREATE, {"i": {"residenceId": world.rid, "title": " Boiler warranty ",
                                              "kind": "WARRANTY", "notes": "5 years", "expiresAt": "2030-06-30",
                                              "fileIds": [str(file.id)]}}, token=world.editor.token)
    payload = result["data"]["createDocument"]
    assert payload["userErrors"] == []
    document = payload["document"]
    assert {k: document[k] for k in ("title", "kind", "notes", "expiresAt")} == {
        "title": "Boiler warranty", "kind": "WARRANTY", "notes": "5 years", "expiresAt": "2030-06-30"}
    assert document["files"] == [{"id": str(file.id), "filename": "photo.jpg"}]
    assert document["residence"] == {"id": world.rid}
    fetched = await api.execute(DOCUMENT, {"id": document["id"]}, token=world.viewer.token)
    assert fetched["data"]["document"] == document


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("blank-title", "INVALID_INPUT", ["title"]),
        ("long-notes", "INVALID_INPUT", ["notes"]),
        ("pending-file", "MEDIA_NOT_READY", ["fileIds", "0"]),
        ("someone-elses-file", "MEDIA_NOT_ALLOWED", ["fileIds", "0"]),
        ("file-for-other-residence", "MEDIA_NOT_ALLOWED", ["fileIds", "0"]),
        ("photo-not-document", "MEDIA_NOT_ALLOWED", ["fileIds", "0"]),
        ("malformed-id", "MEDIA_NOT_ALLOWED", ["fileIds", "0"]),
    ],
)
async def test_create_document_user_errors(api, world, case, code, field) -> None:
    fields: dict = {"residenceId": world.rid, "title": "Doc"}
    if case == "blank-title":
        fields["title"] = " "
    elif case == "long-notes":
        fields["notes"] = "x" * 10_001
    elif case == "malformed-id":
        fields["fileIds"] = ["junk"]
    else:
        other = await make_world()
        overrides = {"pending-file": {"status": MediaStatus.PENDING}, "someone-elses-file": {"owner": world.owner},
                     "file-for-other-residence": {"target": other.residence.id},
                     "photo-not-document": {"purpose": MediaPurpose.COMPLETION_PHOTO}}[case]
        fields["fileIds"] = [str((await file_for(world, **overrides)).id)]
    result = await api.execute(CREATE, {"i": fields}, token=world.editor.token)
    assert result["data"]["createDocument"] == {"document": None, "userErrors": [{"field": field, "code": code}]}
    assert await models.Document.all().count() == 0


async def test_update_document_replaces_files_and_clears_expiry(api, world) -> None:
    old, new = await file_for(world), await file_for(world)
    document = await models.Document.create(residence=world.residence, title="Manual", kind="MANUAL",
                                            expires_at="2030-01-01")
    await models.Media.filter(id=old.id).update(document_id=document.id)
    result = await api.execute(UPDATE, {"i": {"documentId": str(document.id), "expiresAt": None,
                                              "fileIds": [str(new.id), str(old.id)]}}, token=world.editor.token)
    updated = result["data"]["updateDocument"]["document"]
    assert (updated["title"], updated["kind"], updated["expiresAt"]) == ("Manual", "MANUAL", None)
    assert {f["id"] for f in updated["files"]} == {str(old.id), str(new.id)}
    result = await api.execute(UPDATE, {"i": {"documentId": str(document.id), "fileIds": [str(new.id)],
                                              "title": "Oven manual"}}, token=world.editor.token)
    assert result["data"]["updateDocument"]["document"]["files"] == [{"id": str(new.id), "filename": "photo.jpg"}]
    dropped = await models.Media.get(id=old.id)
    assert (dropped.document_id, dropped.status) == (None, MediaStatus.REJECTED)  # type: ignore[attr-defined]
    bad = await api.execute(UPDATE, {"i": {"documentId": str(document.id), "title": ""}}, token=world.editor.token)
    assert bad["data"]["updateDocument"]["userErrors"] == [{"field": ["title"], "code": "INVALID_INPUT"}]
    assert (await models.Document.get(id=document.id)).title == "Oven manual"


async def test_file_attached_to_one_document_cannot_join_another(api, world) -> None:
    file = await file_for(world)
    first = await api.execute(CREATE, {"i": {"residenceId": world.rid, "title": "A", "fileIds": [str(file.id)]}},
                              token=world.editor.token)
    assert first["data"]["createDocument"]["userErrors"] == []
    second = await api.execute(CREATE, {"i": {"residenceId": world.rid, "title": "B", "fileIds": [str(file.id)]}},
                               token=world.editor.token)
    assert second["data"]["createDocument"]["userErrors"] == [{"field": ["fileIds", "0"], "code": "MEDIA_IN_USE"}]


async def test_documents_connection(api, world) -> None:
    for title in ("one", "two", "three"):
        await models.Document.create(residence=world.residence, title=title)
    page = (await api.execute(LIST, {"id": world.rid}, token=world.viewer.token))["data"]["residence"]["documents"]
    assert page["totalCount"] == 3 and [e["node"]["title"] for e in page["edges"]] == ["three", "two"]
    rest = (await api.execute(LIST, {"id": world.rid, "after": page["pageInfo"]["endCursor"]},
                              token=world.viewer.token))["data"]["residence"]["documents"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["one"] and rest["pageInfo"]["hasNextPage"] is False


async def test_delete_document_discards_its_files(api, world) -> None:
    document = await models.Document.create(residence=world.residence, title="x")
    file, other = await file_for(world), await file_for(world)
    await models.Media.filter(id=file.id).update(document_id=document.id)
    result = await api.execute(DELETE, {"i": {"documentId": str(document.id)}}, token=world.editor.token)
    assert result["data"]["deleteDocument"] == {"deletedId": str(document.id), "document": {"id": str(document.id)}}
    assert not await models.Document.exists(id=document.id)
    # REJECTED rows are what the periodic upload cleanup deletes from the bucket.
    assert (await models.Media.get(id=file.id)).status == MediaStatus.REJECTED
    assert (await models.Media.get(id=other.id)).status == MediaStatus.READY


OPERATIONS = {
    "document": (DOCUMENT, lambda w, d: {"id": str(d.id)}, "viewer"),
    "createDocument": (CREATE, lambda w, d: {"i": {"residenceId": w.rid, "title": "x"}}, "editor"),
    "updateDocument": (UPDATE, lambda w, d: {"i": {"documentId": str(d.id), "title": "x"}}, "editor"),
    "deleteDocument": (DELETE, lambda w, d: {"i": {"documentId": str(d.id)}}, "editor"),
}
EXPECTED = {
    "viewer": {"outsider": "NOT_FOUND", "viewer": None, "editor": None, "owner": None},
    "editor": {"outsider": "NOT_FOUND", "viewer": "FORBIDDEN", "editor": None, "owner": None},
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_document_roles(api, world, operation) -> None:
    query, variables, minimum = OPERATIONS[operation]
    for role in ("outsider", "viewer", "editor", "owner"):
        document = await models.Document.create(residence=world.residence, title="Doc")
        result = await api.execute(query, variables(world, document), token=world.actor(role).token)
        expected = EXPECTED[minimum][role]
        assert error_code(result) == expected, (role, result)
        if expected is not None:
            assert await models.Document.filter(title="Doc").count() == 1
            assert await models.Document.all().count() == 1
        await models.Document.all().delete()
