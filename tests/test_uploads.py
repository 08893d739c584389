"""The upload lifecycle over GraphQL (ASGI), on the local backend and on the signature-checking S3 server.

The app is the embedded one (API plus gateway routes), so local uploads really go through the gateway's
signed ``PUT /media/upload/…`` and downloads through ``Media.url``; S3 uploads go over HTTP to the test
store, which refuses anything the presigned URL did not sign.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from honeydue import models
from honeydue.media_policy import staging_key
from honeydue.services import services_of
from honeydue.settings import Settings
from honeydue.storage import ObjectNotFound
from honeydue.tokens import issue_token
from tests.conftest import GraphQLClient, make_settings
from tests.plugins.app_on_backends import running_app

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(300)
PDF = b"%PDF-1.7\n" + os.urandom(200)
HTML = b"<html><script>alert(document.cookie)</script></html>" + b" " * 100

# Never verified: no test here logs in.
_PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$placeholderplaceholderplaceholder"

MEDIA_FIELDS = "id filename contentType size status rejectReason url directUrl"
REQUEST = f"""
mutation($input: RequestUploadInput!) {{
  requestUpload(input: $input) {{
    media {{ {MEDIA_FIELDS} }}
    upload {{ url method headers {{ name value }} expiresAt }}
    userErrors {{ field message code }}
  }}
}}"""
FINALIZE = f"""
mutation($id: ID!) {{
  finalizeUpload(input: {{mediaId: $id}}) {{ media {{ {MEDIA_FIELDS} }} userErrors {{ field code message }} }}
}}"""
DELETE = """
mutation($id: ID!, $detach: Boolean!) {
  deleteMedia(input: {mediaId: $id, detach: $detach}) { ok userErrors { field code } }
}"""
MEDIA = f"query($id: ID!) {{ media(id: $id) {{ {MEDIA_FIELDS} }} }}"


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def storage(app_client: tuple[GraphQLClient, object]) -> object:
    return services_of(app_client[1]).storage  # type: ignore[arg-type]


# --- helpers ------------------------------------------------------------------------------------------


async def register(gql: GraphQLClient) -> tuple[str, str]:
    """A user and a bearer token. Registration itself is tested elsewhere; here an Argon2 hash per user
    would dominate the run, so users are made directly with one placeholder hash."""
    user = await models.User.create(email=f"u-{uuid.uuid4().hex[:8]}@example.com", password_hash=_PLACEHOLDER_HASH,
                                    display_name="U")
    return await issue_token(user, 1), str(user.id)


async def ok(gql: GraphQLClient, query: str, variables: dict, token: str) -> dict:
    data = await gql.execute(query, variables, token=token)
    assert "errors" not in data, data
    (payload,) = data["data"].values()
    assert not payload.get("userErrors"), payload
    return payload


async def residence_with_task(gql: GraphQLClient, owner: str) -> tuple[str, str]:
    res = await ok(gql, "mutation($i: CreateResidenceInput!) { createResidence(input: $i) "
                        "{ residence { id } userErrors { code } } }", {"i": {"name": "Home"}}, owner)
    rid = res["residence"]["id"]
    task = await ok(gql, "mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } "
                         "userErrors { code } } }", {"i": {"residenceId": rid, "title": "Filter"}}, owner)
    return rid, task["task"]["id"]


async def join(gql: GraphQLClient, owner: str, member: str, rid: str, role: str) -> None:
    code = await ok(gql, "mutation($i: CreateShareCodeInput!) { createShareCode(input: $i) "
                         "{ code userErrors { code } } }", {"i": {"residenceId": rid, "role": role}}, owner)
    await ok(gql, "mutation($i: JoinResidenceInput!) { joinResidence(input: $i) { residence { id } "
                  "userErrors { code } } }", {"i": {"code": code["code"]}}, member)


def upload_input(purpose: str = "AVATAR", target: str | None = None, data: bytes = PNG,
                 content_type: str = "image/png", filename: str = "photo.png", **extra: object) -> dict:
    return {"input": {"purpose": purpose, "targetId": target, "filename": filename,
                      "contentType": content_type, "size": len(data), **extra}}


async def request(gql: GraphQLClient, token: str, **kwargs: object) -> dict:
    data = await gql.execute(REQUEST, upload_input(**kwargs), token=token)  # type: ignore[arg-type]
    assert "errors" not in data, data
    return data["data"]["requestUpload"]


async def put(gql: GraphQLClient, upload: dict, body: bytes) -> httpx.Response:
    """PUT like a client: every returned header, unchanged; the gateway in-process, the S3 store over HTTP."""
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    assert upload["method"] == "PUT"
    if upload["url"].startswith("http://testserver/"):
        return await gql.http.put(upload["url"], content=body, headers=headers)
    async with httpx.AsyncClient() as http:
        return await http.put(upload["url"], content=body, headers=headers)


async def uploaded(gql: GraphQLClient, token: str, body: bytes = PNG, **kwargs: object) -> dict:
    """request -> PUT -> finalize; the finalized media."""
    payload = await request(gql, token, data=body, **kwargs)
    assert payload["userErrors"] == [], payload
    assert (await put(gql, payload["upload"], body)).status_code == 200
    return (await ok(gql, FINALIZE, {"id": payload["media"]["id"]}, token))["media"]


async def stored(storage: object, key: str) -> bool:
    try:
        await storage.head(key)  # type: ignore[attr-defined]
    except ObjectNotFound:
        return False
    return True


async def object_exists(storage: object, media_id: str) -> bool:
    """Is anything of this media stored: the served object or its upload's staging object?"""
    row = await models.Media.get(id=media_id)
    return await stored(storage, row.key) or await stored(storage, staging_key(row.key))


def error_code(data: dict) -> str:
    return data["errors"][0]["extensions"]["code"]


# --- the happy path -----------------------------------------------------------------------------------


async def test_avatar_upload_finalize_download_and_replace(gql: GraphQLClient, storage: object,
                                                           backend: Settings) -> None:
    token, user_id = await register(gql)
    payload = await request(gql, token, filename="../../etc/Mé\r\nphoto.png")
    media, upload = payload["media"], payload["upload"]
    assert media["status"] == "PENDING" and media["url"] is None and media["directUrl"] is None
    assert media["filename"] == "Mé photo.png"  # sanitised, kept for Content-Disposition only
    row = await models.Media.get(id=media["id"])
    assert row.key.startswith(f"users/{user_id}/profile/") and row.key.endswith(".png") and "photo" not in row.key
    assert {h["name"]: h["value"] for h in upload["headers"]} == {"Content-Type": "image/png",
                                                                   "Content-Length": str(len(PNG))}
    assert row.residence_id is None and row.owner_id == uuid.UUID(user_id)

    assert (await put(gql, upload, PNG)).status_code == 200
    ready = (await ok(gql, FINALIZE, {"id": media["id"]}, token))["media"]
    assert ready["status"] == "READY" and ready["rejectReason"] is None
    row = await models.Media.get(id=media["id"])
    assert row.etag and row.finalized_at is not None

    url = ready["url"]
    assert urlsplit(url).path == f"/media/{row.key}"
    download = await gql.http.get(url)
    assert download.status_code == 200 and download.content == PNG
    if backend.uses_s3:
        async with httpx.AsyncClient() as http:
            direct = await http.get(ready["directUrl"])
        assert direct.status_code == 200 and direct.content == PNG
    else:
        assert ready["directUrl"] is None

    me = await gql.execute("{ me { avatar { id status } } }", token=token)
    assert me["data"]["me"]["avatar"] == {"id": media["id"], "status": "READY"}
    again = (await ok(gql, FINALIZE, {"id": media["id"]}, token))["media"]
    assert {**again, "directUrl": None} == {**ready, "directUrl": None}  # idempotent (presigned links re-dated)

    replacement = await uploaded(gql, token)
    me = await gql.execute("{ me { avatar { id } } }", token=token)
    assert me["data"]["me"]["avatar"]["id"] == replacement["id"]
    assert not await models.Media.exists(id=media["id"])
    try:
        await storage.head(row.key)  # type: ignore[attr-defined]
    except ObjectNotFound:
        pass
    else:
        raise AssertionError("the replaced avatar's object is still stored")


async def test_avatar_chosen_with_update_profile_deletes_the_one_it_replaces(gql: GraphQLClient,
                                                                          storage: object) -> None:
    token, user_id = await register(gql)
    current = await uploaded(gql, token)
    # A second READY avatar that finalize did not install (e.g. restored by an operator): pick it explicitly.
    spare = await models.Media.create(key=f"users/{user_id}/profile/{uuid.uuid4()}.png", owner_id=user_id,
                                      purpose=models.MediaPurpose.AVATAR, target_id=user_id, filename="b.png",
                                      content_type="image/png", size=len(PNG), status=models.MediaStatus.READY)
    await storage.put_bytes(spare.key, PNG, "image/png")  # type: ignore[attr-defined]
    await ok(gql, "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { user { id } userErrors { code } } }",
             {"i": {"avatarId": str(spare.id)}}, token)
    me = await gql.execute("{ me { avatar { id } } }", token=token)
    assert me["data"]["me"]["avatar"]["id"] == str(spare.id)
    assert not await models.Media.exists(id=current["id"])
    assert await stored(storage, spare.key)


RESIDENCE_PHOTO = "query($id: ID!) { residence(id: $id) { photo { id status url } } }"


async def test_residence_photo_upload_replace_detach_and_delete_with_the_residence(
    gql: GraphQLClient, storage: object
) -> None:
    owner, _ = await register(gql)
    editor, _ = await register(gql)
    viewer, _ = await register(gql)
    rid, _ = await residence_with_task(gql, owner)
    await join(gql, owner, editor, rid, "EDITOR")
    await join(gql, owner, viewer, rid, "VIEWER")
    assert (await gql.execute(RESIDENCE_PHOTO, {"id": rid}, token=viewer))["data"]["residence"]["photo"] is None

    first = await uploaded(gql, editor, purpose="RESIDENCE_PHOTO", target=rid)
    row = await models.Media.get(id=first["id"])
    assert row.key.startswith(f"residences/{rid}/photo/") and row.key.endswith(".png") and str(row.residence_id) == rid
    shown = (await gql.execute(RESIDENCE_PHOTO, {"id": rid}, token=viewer))["data"]["residence"]["photo"]
    assert shown["id"] == first["id"] and shown["status"] == "READY"
    assert (await gql.http.get(shown["url"])).content == PNG

    # A new photo (by another editor or owner) replaces the old one, which is deleted, row and object.
    second = await uploaded(gql, owner, purpose="RESIDENCE_PHOTO", target=rid)
    shown = (await gql.execute(RESIDENCE_PHOTO, {"id": rid}, token=viewer))["data"]["residence"]["photo"]
    assert shown["id"] == second["id"]
    assert not await models.Media.exists(id=first["id"]) and not await stored(storage, row.key)

    # Images only; viewers may not upload one.
    pdf = await request(gql, owner, purpose="RESIDENCE_PHOTO", target=rid, data=PDF, content_type="application/pdf")
    assert [e["code"] for e in pdf["userErrors"]] == ["TYPE_NOT_ALLOWED"]
    assert error_code(await gql.execute(REQUEST, upload_input("RESIDENCE_PHOTO", rid), token=viewer)) == "FORBIDDEN"

    # Deleting the photo needs detach, then the residence has none.
    in_use = await gql.execute(DELETE, {"id": second["id"], "detach": False}, token=editor)
    assert in_use["data"]["deleteMedia"]["userErrors"] == [{"field": ["mediaId"], "code": "MEDIA_IN_USE"}]
    await ok(gql, DELETE, {"id": second["id"], "detach": True}, editor)
    assert (await gql.execute(RESIDENCE_PHOTO, {"id": rid}, token=viewer))["data"]["residence"]["photo"] is None

    # Deleting the residence retires its photo with its other media (the cleanup job deletes the object).
    third = await uploaded(gql, editor, purpose="RESIDENCE_PHOTO", target=rid)
    await ok(gql, "mutation($i: DeleteResidenceInput!) { deleteResidence(input: $i) { deletedId "
                  "userErrors { code } } }", {"i": {"residenceId": rid}}, owner)
    retired = await models.Media.get(id=third["id"])
    assert retired.status == models.MediaStatus.REJECTED


async def test_completion_photo_and_document_targets_and_roles(gql: GraphQLClient) -> None:
    owner, _ = await register(gql)
    editor, _ = await register(gql)
    viewer, _ = await register(gql)
    outsider, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)
    await join(gql, owner, editor, rid, "EDITOR")
    await join(gql, owner, viewer, rid, "VIEWER")

    photo = await uploaded(gql, editor, purpose="COMPLETION_PHOTO", target=task_id)
    row = await models.Media.get(id=photo["id"])
    assert row.key.startswith(f"tasks/{task_id}/completions/") and str(row.residence_id) == rid
    doc = await uploaded(gql, owner, body=PDF, purpose="DOCUMENT_FILE", target=rid, content_type="application/pdf",
                         filename="manual.pdf")
    row = await models.Media.get(id=doc["id"])
    assert row.key.startswith(f"residences/{rid}/documents/") and row.key.endswith(".pdf")

    # Readers: the owner and every member; an outsider sees nothing (NOT_FOUND, like a missing id).
    for reader in (owner, editor, viewer):
        got = await gql.execute(MEDIA, {"id": photo["id"]}, token=reader)
        assert got["data"]["media"]["status"] == "READY" and got["data"]["media"]["url"]
    assert error_code(await gql.execute(MEDIA, {"id": photo["id"]}, token=outsider)) == "NOT_FOUND"
    assert error_code(await gql.execute(MEDIA, {"id": str(uuid.uuid4())}, token=owner)) == "NOT_FOUND"
    assert error_code(await gql.execute(MEDIA, {"id": photo["id"]})) == "UNAUTHENTICATED"

    # Writers: EDITOR or better; VIEWER is FORBIDDEN; an outsider cannot tell the target exists.
    viewer_try = await gql.execute(REQUEST, upload_input("COMPLETION_PHOTO", task_id), token=viewer)
    assert error_code(viewer_try) == "FORBIDDEN"
    for target, purpose in ((task_id, "COMPLETION_PHOTO"), (rid, "DOCUMENT_FILE")):
        outsider_try = await gql.execute(REQUEST, upload_input(purpose, target), token=outsider)
        assert error_code(outsider_try) == "NOT_FOUND"
    missing = await request(gql, editor, purpose="COMPLETION_PHOTO", target=None)
    assert [(e["code"], e["field"]) for e in missing["userErrors"]] == [("INVALID_INPUT", ["targetId"])]

    # Finalizing is the uploader's: a co-member is FORBIDDEN, an outsider NOT_FOUND.
    pending = await request(gql, editor, purpose="COMPLETION_PHOTO", target=task_id)
    assert error_code(await gql.execute(FINALIZE, {"id": pending["media"]["id"]}, token=owner)) == "FORBIDDEN"
    assert error_code(await gql.execute(FINALIZE, {"id": pending["media"]["id"]}, token=outsider)) == "NOT_FOUND"


async def test_avatar_is_readable_by_co_members_only(gql: GraphQLClient) -> None:
    owner, _ = await register(gql)
    member, _ = await register(gql)
    stranger, _ = await register(gql)
    rid, _ = await residence_with_task(gql, owner)
    await join(gql, owner, member, rid, "VIEWER")
    avatar = await uploaded(gql, owner)
    assert (await gql.execute(MEDIA, {"id": avatar["id"]}, token=member))["data"]["media"]["id"] == avatar["id"]
    assert error_code(await gql.execute(MEDIA, {"id": avatar["id"]}, token=stranger)) == "NOT_FOUND"


# --- declared type and size --------------------------------------------------------------------------


async def test_declared_type_size_filename_and_md5_are_checked(gql: GraphQLClient, backend: Settings) -> None:
    owner, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)

    def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
        return [(e["code"], e["field"]) for e in payload["userErrors"]]

    pdf_photo = await request(gql, owner, purpose="COMPLETION_PHOTO", target=task_id, content_type="application/pdf")
    assert codes(pdf_photo) == [("TYPE_NOT_ALLOWED", ["contentType"])] and pdf_photo["media"] is None
    svg = await request(gql, owner, content_type="image/svg+xml")
    assert codes(svg) == [("TYPE_NOT_ALLOWED", ["contentType"])]
    html = await request(gql, owner, purpose="DOCUMENT_FILE", target=rid, content_type="text/html")
    assert codes(html) == [("TYPE_NOT_ALLOWED", ["contentType"])]

    too_big = await gql.execute(REQUEST, {"input": {**upload_input()["input"],
                                                    "size": backend.storage_max_file_size + 1}}, token=owner)
    assert codes(too_big["data"]["requestUpload"]) == [("FILE_TOO_LARGE", ["size"])]
    empty = await gql.execute(REQUEST, {"input": {**upload_input()["input"], "size": 0}}, token=owner)
    assert codes(empty["data"]["requestUpload"]) == [("INVALID_INPUT", ["size"])]
    bad_md5 = await request(gql, owner, md5="not-a-digest")
    assert codes(bad_md5) == [("INVALID_INPUT", ["md5"])]
    assert await models.Media.all().count() == 0  # nothing recorded for any of them

    # Type parameters and case are normalised; a given MD5 travels as Content-MD5 on S3.
    import base64
    import hashlib

    digest = hashlib.md5(PNG).hexdigest()
    fine = await request(gql, owner, content_type="Image/PNG; charset=binary", md5=digest)
    assert fine["media"]["contentType"] == "image/png"
    headers = {h["name"]: h["value"] for h in fine["upload"]["headers"]}
    if backend.uses_s3:
        assert headers["Content-MD5"] == base64.b64encode(bytes.fromhex(digest)).decode()
    assert (await put(gql, fine["upload"], PNG)).status_code == 200
    assert (await ok(gql, FINALIZE, {"id": fine["media"]["id"]}, owner))["media"]["status"] == "READY"


# --- finalize: what arrived --------------------------------------------------------------------------


async def test_finalize_missing_mismatch_and_disguised_html(gql: GraphQLClient, storage: object) -> None:
    token, _ = await register(gql)

    missing = await request(gql, token)
    data = await gql.execute(FINALIZE, {"id": missing["media"]["id"]}, token=token)
    payload = data["data"]["finalizeUpload"]
    assert [e["code"] for e in payload["userErrors"]] == ["UPLOAD_MISSING"]
    assert (await models.Media.get(id=missing["media"]["id"])).status == models.MediaStatus.PENDING

    # The store holds a different size than declared (written behind the presigned URL's back).
    wrong_size = await request(gql, token)
    key = (await models.Media.get(id=wrong_size["media"]["id"])).key
    await storage.put_bytes(staging_key(key), PNG + b"extra", "image/png")  # type: ignore[attr-defined]
    rejected = (await ok(gql, FINALIZE, {"id": wrong_size["media"]["id"]}, token))["media"]
    assert rejected["status"] == "REJECTED" and "bytes" in rejected["rejectReason"] and rejected["url"] is None
    assert not await object_exists(storage, wrong_size["media"]["id"])

    # HTML declared as image/png goes through the real PUT (type and length match what was signed).
    disguised = await request(gql, token, data=HTML)
    assert (await put(gql, disguised["upload"], HTML)).status_code == 200
    rejected = (await ok(gql, FINALIZE, {"id": disguised["media"]["id"]}, token))["media"]
    assert rejected["status"] == "REJECTED" and "image/png" in rejected["rejectReason"]
    assert not await object_exists(storage, disguised["media"]["id"])
    assert (await gql.execute(MEDIA, {"id": disguised["media"]["id"]}, token=token))["data"]["media"]["url"] is None
    # A finished media stays finished: finalizing again changes nothing.
    again = (await ok(gql, FINALIZE, {"id": disguised["media"]["id"]}, token))["media"]
    assert again == rejected


async def test_upload_link_reused_after_finalize_cannot_change_the_served_file(
    gql: GraphQLClient, storage: object, backend: Settings
) -> None:
    """Issue 4: the PUT link outlives finalize; a second PUT must never reach the bytes a READY row serves."""
    token, _ = await register(gql)
    payload = await request(gql, token)
    upload, media_id = payload["upload"], payload["media"]["id"]
    row = await models.Media.get(id=media_id)
    assert urlsplit(upload["url"]).path.endswith(f"{row.key}.upload")  # clients write a staging object
    assert (await put(gql, upload, PNG)).status_code == 200
    ready = (await ok(gql, FINALIZE, {"id": media_id}, token))["media"]
    assert ready["status"] == "READY"
    assert await stored(storage, row.key) and not await stored(storage, staging_key(row.key))
    before = await gql.http.get(ready["url"])
    assert before.status_code == 200 and before.content == PNG
    stored_etag = (await storage.head(row.key)).etag  # type: ignore[attr-defined]

    attack = HTML.ljust(len(PNG))  # same length and declared type: exactly what the link signed
    late = await put(gql, upload, attack)
    # The gateway refuses outright; S3 accepts the signed PUT, but it lands on a staging object nobody serves.
    assert late.status_code == (200 if backend.uses_s3 else 409), late.text
    after = await gql.http.get(ready["url"])
    assert after.status_code == 200 and after.content == PNG
    assert after.headers["etag"] == before.headers["etag"] and after.headers["content-type"] == "image/png"
    assert (await storage.head(row.key)).etag == stored_etag  # type: ignore[attr-defined]
    assert await stored(storage, staging_key(row.key)) is backend.uses_s3
    # Finalizing again neither re-checks nor republishes the staging object.
    again = (await ok(gql, FINALIZE, {"id": media_id}, token))["media"]
    assert again["status"] == "READY"
    assert (await gql.http.get(ready["url"])).content == PNG
    # Deleting the media removes the leftover staging object too.
    await ok(gql, DELETE, {"id": media_id, "detach": True}, token)
    assert not await stored(storage, row.key) and not await stored(storage, staging_key(row.key))


async def test_rejected_upload_leaves_neither_object_and_refuses_late_puts(
    gql: GraphQLClient, storage: object, backend: Settings
) -> None:
    token, _ = await register(gql)
    payload = await request(gql, token, data=HTML)
    key = (await models.Media.get(id=payload["media"]["id"])).key
    assert (await put(gql, payload["upload"], HTML)).status_code == 200
    assert await stored(storage, staging_key(key)) and not await stored(storage, key)
    rejected = (await ok(gql, FINALIZE, {"id": payload["media"]["id"]}, token))["media"]
    assert rejected["status"] == "REJECTED"
    assert not await stored(storage, key) and not await stored(storage, staging_key(key))
    if not backend.uses_s3:
        assert (await put(gql, payload["upload"], HTML)).status_code == 409
        assert not await stored(storage, staging_key(key))


async def test_deleting_a_pending_media_removes_its_staging_object(gql: GraphQLClient, storage: object) -> None:
    token, _ = await register(gql)
    payload = await request(gql, token)
    key = (await models.Media.get(id=payload["media"]["id"])).key
    assert (await put(gql, payload["upload"], PNG)).status_code == 200
    await ok(gql, DELETE, {"id": payload["media"]["id"], "detach": False}, token)
    assert not await stored(storage, staging_key(key))


async def test_gateway_never_takes_a_put_to_a_served_key(gql: GraphQLClient, storage: object,
                                                         backend: Settings) -> None:
    """Even a correctly signed link for a key a media row holds is refused: only finalize writes those."""
    if backend.uses_s3:
        pytest.skip("the gateway takes uploads only for the local backend")
    token, _ = await register(gql)
    media = await uploaded(gql, token)
    row = await models.Media.get(id=media["id"])
    target = await storage.presign_put(row.key, "image/png", len(PNG), None, 60)  # type: ignore[attr-defined]
    response = await gql.http.put(target.url, content=HTML.ljust(len(PNG)), headers=target.headers)
    assert response.status_code == 409
    assert await storage.read_prefix(row.key, 8) == PNG[:8]  # type: ignore[attr-defined]


async def test_finalize_publishes_only_what_it_checked(gql: GraphQLClient, storage: object,
                                                       backend: Settings) -> None:
    """A PUT that swaps the staging bytes between finalize's check and its copy is caught on the copy."""
    token, _ = await register(gql)
    payload = await request(gql, token)
    key = (await models.Media.get(id=payload["media"]["id"])).key
    assert (await put(gql, payload["upload"], PNG)).status_code == 200
    real_copy = storage.copy  # type: ignore[attr-defined]

    async def swap_then_copy(src: str, dst: str) -> None:
        await storage.put_bytes(src, HTML.ljust(len(PNG)), "image/png")  # type: ignore[attr-defined]
        await real_copy(src, dst)

    storage.copy = swap_then_copy  # type: ignore[attr-defined]
    try:
        rejected = (await ok(gql, FINALIZE, {"id": payload["media"]["id"]}, token))["media"]
    finally:
        del storage.copy  # type: ignore[attr-defined]
    assert rejected["status"] == "REJECTED" and "image/png" in rejected["rejectReason"]
    assert not await stored(storage, key) and not await stored(storage, staging_key(key))


async def test_store_outage_is_a_user_error_and_leaves_the_row_pending(
    settings: Settings, s3_env: dict[str, str], s3_server: object, tmp_path: Path
) -> None:
    s3 = make_settings(tmp_path / "s3", DATABASE_URL=settings.database_url, **s3_env)
    async with running_app(s3) as (gql, _app):
        token, _ = await register(gql)
        payload = await request(gql, token)
        assert (await put(gql, payload["upload"], PNG)).status_code == 200
        s3_server.stop()  # type: ignore[attr-defined]  # s3_env restarts it for the next test
        try:
            data = await gql.execute(FINALIZE, {"id": payload["media"]["id"]}, token=token)
        finally:
            s3_server.start()  # type: ignore[attr-defined]
        assert "errors" not in data, data
        assert [e["code"] for e in data["data"]["finalizeUpload"]["userErrors"]] == ["STORAGE_UNAVAILABLE"]
        assert (await models.Media.get(id=payload["media"]["id"])).status == models.MediaStatus.PENDING
        # Once the store is back, the same call succeeds.
        assert (await ok(gql, FINALIZE, {"id": payload["media"]["id"]}, token))["media"]["status"] == "READY"


async def test_concurrent_finalizes_with_a_re_put_never_serve_unchecked_bytes(gql: GraphQLClient, storage: object,
                                                                            backend: Settings) -> None:
    """Only the finalize that claimed the row checks and copies; the other waits for its outcome.

    Without the claim both copy: the second copy, after a re-PUT of other bytes, lands on the served key under
    the row the first one had already made READY, and its own check then deletes the served object.
    """
    token, _ = await register(gql)
    payload = await request(gql, token)
    media_id = payload["media"]["id"]
    key = (await models.Media.get(id=media_id)).key
    assert (await put(gql, payload["upload"], PNG)).status_code == 200
    real_copy = storage.copy  # type: ignore[attr-defined]
    copies: list[str] = []

    async def copy_after_re_put(src: str, dst: str) -> None:
        copies.append(dst)
        if len(copies) == 2:  # a second finalize got this far: let the first one finish, then re-PUT
            for _ in range(200):
                if (await models.Media.get(id=media_id)).status == models.MediaStatus.READY:
                    break
                await asyncio.sleep(0.05)
            await storage.put_bytes(src, HTML.ljust(len(PNG)), "image/png")  # type: ignore[attr-defined]
        await real_copy(src, dst)

    storage.copy = copy_after_re_put  # type: ignore[attr-defined]
    try:
        results = await asyncio.gather(*(gql.execute(FINALIZE, {"id": media_id}, token=token) for _ in range(2)))
    finally:
        del storage.copy  # type: ignore[attr-defined]
    finalized = [r["data"]["finalizeUpload"] for r in results]
    assert [(f["userErrors"], f["media"]["status"]) for f in finalized] == [([], "READY"), ([], "READY")]
    assert copies == [key]
    served = await gql.http.get(finalized[0]["media"]["url"])
    assert served.status_code == 200 and served.content == PNG
    assert (await storage.head(key)).etag == (await models.Media.get(id=media_id)).etag  # type: ignore[attr-defined]


async def test_upload_carries_content_md5_and_a_body_with_another_digest_is_refused(
    gql: GraphQLClient, storage: object, backend: Settings
) -> None:
    """The local backend checks Content-MD5 as S3 does: signed into the link, and a body that does not match
    it is refused at the PUT (400 BadDigest) with nothing stored."""
    import base64
    import hashlib

    token, _ = await register(gql)
    md5 = base64.b64encode(hashlib.md5(PNG).digest()).decode()
    payload = await request(gql, token, md5=md5)
    key = (await models.Media.get(id=payload["media"]["id"])).key
    headers = {h["name"]: h["value"] for h in payload["upload"]["headers"]}
    assert headers["Content-MD5"] == md5

    forged = await put(gql, payload["upload"], HTML.ljust(len(PNG)))
    assert forged.status_code == 400 and "BadDigest" in forged.text, forged.text
    assert not await stored(storage, staging_key(key))
    other_digest = {**payload["upload"], "headers": [
        {"name": n, "value": base64.b64encode(hashlib.md5(HTML).digest()).decode() if n == "Content-MD5" else v}
        for n, v in headers.items()]}
    assert (await put(gql, other_digest, HTML.ljust(len(PNG)))).status_code == 403
    assert not await stored(storage, staging_key(key))

    assert (await put(gql, payload["upload"], PNG)).status_code == 200
    assert (await ok(gql, FINALIZE, {"id": payload["media"]["id"]}, token))["media"]["status"] == "READY"


# --- limits -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_pending_and_hourly_limits(settings: Settings, tmp_path: Path) -> None:
    limited = make_settings(tmp_path / "lim", DATABASE_URL=settings.database_url, UPLOAD_PENDING_LIMIT="2",
                            UPLOAD_RATE_PER_HOUR="4")
    async with running_app(limited) as (gql, _app):
        token, _ = await register(gql)
        other, _ = await register(gql)
        first = await request(gql, token)
        await request(gql, token)
        third = await request(gql, token)
        assert [e["code"] for e in third["userErrors"]] == ["TOO_MANY_PENDING_UPLOADS"]
        # Finishing one frees a slot.
        assert (await put(gql, first["upload"], PNG)).status_code == 200
        await ok(gql, FINALIZE, {"id": first["media"]["id"]}, token)
        assert (await request(gql, token))["userErrors"] == []
        fifth = await request(gql, token)
        assert [e["code"] for e in fifth["userErrors"]] == ["UPLOAD_RATE_LIMITED"]
        assert (await request(gql, other))["userErrors"] == []  # per user


async def test_concurrent_requests_never_exceed_the_pending_limit(settings: Settings, tmp_path: Path) -> None:
    limited = make_settings(tmp_path / "lim", DATABASE_URL=settings.database_url, UPLOAD_PENDING_LIMIT="3",
                            UPLOAD_RATE_PER_HOUR="100")
    async with running_app(limited) as (gql, _app):
        token, user_id = await register(gql)
        results = await asyncio.gather(*(gql.execute(REQUEST, upload_input(), token=token) for _ in range(10)))
        codes = sorted(tuple(e["code"] for e in r["data"]["requestUpload"]["userErrors"]) for r in results)
        assert codes == [()] * 3 + [("TOO_MANY_PENDING_UPLOADS",)] * 7
        assert await models.Media.filter(owner_id=user_id, status=models.MediaStatus.PENDING).count() == 3


# --- deleteMedia --------------------------------------------------------------------------------------


async def test_delete_refuses_attached_media_unless_detached(gql: GraphQLClient, storage: object) -> None:
    owner, owner_id = await register(gql)
    editor, _ = await register(gql)
    viewer, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)
    await join(gql, owner, editor, rid, "EDITOR")
    await join(gql, owner, viewer, rid, "VIEWER")

    avatar = await uploaded(gql, owner)
    refused = (await gql.execute(DELETE, {"id": avatar["id"], "detach": False}, token=owner))["data"]["deleteMedia"]
    assert refused == {"ok": False, "userErrors": [{"field": ["mediaId"], "code": "MEDIA_IN_USE"}]}
    assert await object_exists(storage, avatar["id"])
    await ok(gql, DELETE, {"id": avatar["id"], "detach": True}, owner)
    assert not await models.Media.exists(id=avatar["id"])
    assert (await models.User.get(id=owner_id)).avatar_id is None
    assert (await gql.execute("{ me { avatar { id } } }", token=owner))["data"]["me"]["avatar"] is None

    photo = await uploaded(gql, owner, purpose="COMPLETION_PHOTO", target=task_id)
    key = (await models.Media.get(id=photo["id"])).key
    await ok(gql, "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { id } userErrors { code } } }",
             {"i": {"taskId": task_id, "photoIds": [photo["id"]]}}, owner)
    refused = (await gql.execute(DELETE, {"id": photo["id"], "detach": False}, token=editor))["data"]["deleteMedia"]
    assert [e["code"] for e in refused["userErrors"]] == ["MEDIA_IN_USE"]
    assert error_code(await gql.execute(DELETE, {"id": photo["id"], "detach": True}, token=viewer)) == "FORBIDDEN"
    await ok(gql, DELETE, {"id": photo["id"], "detach": True}, editor)  # an EDITOR of the residence may
    assert not await models.Media.exists(id=photo["id"])
    try:
        await storage.head(key)  # type: ignore[attr-defined]
    except ObjectNotFound:
        pass
    else:
        raise AssertionError("the deleted photo's object is still stored")

    pending = await request(gql, owner)
    outsider, _ = await register(gql)
    assert error_code(await gql.execute(DELETE, {"id": pending["media"]["id"], "detach": False},
                                        token=outsider)) == "NOT_FOUND"
    await ok(gql, DELETE, {"id": pending["media"]["id"], "detach": False}, owner)  # nothing uploaded: fine


# --- links --------------------------------------------------------------------------------------------


async def test_url_lifetime_is_clamped_and_windowed(gql: GraphQLClient, backend: Settings) -> None:
    import time

    token, _ = await register(gql)
    media = await uploaded(gql, token)
    query = "query($id: ID!, $e: Int) { media(id: $id) { url(expiresIn: $e) directUrl(expiresIn: $e) } }"

    async def expiry(seconds: int | None) -> int:
        got = (await gql.execute(query, {"id": media["id"], "e": seconds}, token=token))["data"]["media"]
        if backend.uses_s3:
            assert f"X-Amz-Expires={min(max(seconds or 3600, 1), 7 * 86400)}" in got["directUrl"]
        return int(dict(p.split("=") for p in urlsplit(got["url"]).query.split("&"))["exp"])

    now = time.time()
    assert now + 3600 <= await expiry(None) <= now + 2 * 3600 + 5
    assert await expiry(-5) <= now + 3600 + 5  # at least 1 s, snapped up to the window
    assert await expiry(10**9) <= now + 7 * 86400 + 3600 + 5
