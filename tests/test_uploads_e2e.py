"""The upload lifecycle end to end over HTTP: real ``honeydue serve`` processes, real clients.

One server on the embedded default (SQLite, local media directory, uploads through the gateway) and one
with ``B2_*`` pointing at the signature-checking S3 test server. Each test does what a client does:
requestUpload -> PUT with the returned headers -> finalizeUpload -> download through ``Media.url``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from honeydue.media_policy import final_key
from honeydue.settings import load_settings
from honeydue.signing import sign_media_url
from honeydue.storage import ObjectNotFound, Storage, create_storage
from tests.conftest import ServeProcess, start_serve, stop_serve
from tests.plugins.s3 import s3_env_for

pytestmark = pytest.mark.e2e

SIGNING_KEY = "e2e-signing-key-" + "k" * 32
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
HTML = b"<!doctype html><script>fetch('/graphql')</script>" + b" " * 200

REQUEST = """
mutation($input: RequestUploadInput!) {
  requestUpload(input: $input) {
    media { id status }
    upload { url method headers { name value } expiresAt }
    userErrors { field code }
  }
}"""
FINALIZE = """
mutation($id: ID!) {
  finalizeUpload(input: {mediaId: $id}) { media { id status rejectReason url } userErrors { code } }
}"""


@dataclass
class Served:
    process: ServeProcess
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.process.base_url


@pytest.fixture(scope="module", params=["local", "s3"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {"MEDIA_SIGNING_KEY": SIGNING_KEY}
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        s3.start()
        env.update(s3_env_for(s3, s3.make_bucket(f"honeyDue-e2e-{uuid.uuid4().hex[:8]}")))
    workdir = tmp_path_factory.mktemp(f"uploads-{request.param}")
    process = start_serve(workdir, env)
    env["HONEYDUE_VAR_DIR"] = str(workdir / "var")
    try:
        yield Served(process, env)
    finally:
        stop_serve(process)


@pytest.fixture
async def store(served: Served) -> AsyncIterator[Storage]:
    """The same store the server uses, opened from this process: to tamper with and inspect objects."""
    storage = create_storage(load_settings(served.env))
    await storage.start()  # type: ignore[attr-defined]
    yield storage
    await storage.close()


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=20) as client:
        yield client


async def gql(http: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload


async def register(http: httpx.AsyncClient) -> str:
    payload = await gql(http, "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }",
                        {"i": {"email": f"e2e-{uuid.uuid4().hex[:8]}@example.com",
                               "password": "correct horse battery", "displayName": "E2E"}})
    assert payload["userErrors"] == []
    return payload["token"]


async def request_upload(http: httpx.AsyncClient, token: str, body: bytes, content_type: str = "image/png",
                         size: int | None = None) -> dict:
    return await gql(http, REQUEST, {"input": {"purpose": "AVATAR", "filename": "Föto \"1\".png",
                                               "contentType": content_type,
                                               "size": len(body) if size is None else size}}, token)


async def put(upload: dict, body: bytes) -> httpx.Response:
    assert upload["method"] == "PUT"
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.put(upload["url"], content=body, headers=headers)


def key_of_link(url: str) -> str:
    return unquote(urlsplit(url).path.removeprefix("/media/"))


def key_of_upload(url: str) -> str:
    """The object key in an upload URL: the gateway's ``/media/upload/<key>`` or S3's ``/<bucket>/<key>``."""
    path = urlsplit(url).path
    if path.startswith("/media/upload/"):
        return unquote(path.removeprefix("/media/upload/"))
    return unquote(path.lstrip("/").split("/", 1)[1])


async def gone(store: Storage, key: str) -> bool:
    try:
        await store.head(key)
    except ObjectNotFound:
        return True
    return False


async def test_upload_finalize_and_download_every_way(served: Served, http: httpx.AsyncClient) -> None:
    token = await register(http)
    stranger = await register(http)
    requested = await request_upload(http, token, PNG)
    assert requested["userErrors"] == [] and requested["media"]["status"] == "PENDING"
    uploaded = await put(requested["upload"], PNG)
    assert uploaded.status_code == 200, uploaded.text
    media = (await gql(http, FINALIZE, {"id": requested["media"]["id"]}, token))["media"]
    assert media["status"] == "READY"

    url, size = media["url"], len(PNG)
    assert url.startswith(served.base_url + "/media/")
    key = key_of_link(url)
    async with httpx.AsyncClient(timeout=20) as client:
        full = await client.get(url)
        assert full.status_code == 200 and full.content == PNG
        assert full.headers["content-type"] == "image/png"
        assert full.headers["x-content-type-options"] == "nosniff"
        assert full.headers["accept-ranges"] == "bytes"
        assert "filename*=UTF-8''F%C3%B6to%201.png" in full.headers["content-disposition"]
        etag = full.headers["etag"]

        for header, first, last in (("bytes=0-9", 0, 9), ("bytes=100-", 100, size - 1), ("bytes=-20", size - 20,
                                                                                          size - 1)):
            part = await client.get(url, headers={"Range": header})
            assert part.status_code == 206, header
            assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
            assert part.content == PNG[first:last + 1]
        unsatisfiable = await client.get(url, headers={"Range": f"bytes={size}-"})
        assert unsatisfiable.status_code == 416 and unsatisfiable.headers["content-range"] == f"bytes */{size}"
        not_modified = await client.get(url, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""
        head = await client.head(url)
        assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""

        tampered = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
        assert (await client.get(tampered)).status_code == 403
        expired = sign_media_url([SIGNING_KEY.encode()], served.base_url, key, 60, now=time.time() - 3 * 3600)
        assert (await client.get(expired)).status_code == 403

        bare = f"{served.base_url}/media/{key}"
        mine = await client.get(bare, headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200 and mine.content == PNG and mine.headers["cache-control"] == "private"
        theirs = await client.get(bare, headers={"Authorization": f"Bearer {stranger}"})
        assert theirs.status_code == 403 and theirs.content != PNG


async def test_declared_type_and_size_are_refused_up_front(http: httpx.AsyncClient) -> None:
    token = await register(http)
    too_big = await request_upload(http, token, PNG, size=10 * 1024 * 1024 + 1)
    assert [e["code"] for e in too_big["userErrors"]] == ["FILE_TOO_LARGE"] and too_big["upload"] is None
    wrong_type = await request_upload(http, token, HTML, content_type="text/html")
    assert [e["code"] for e in wrong_type["userErrors"]] == ["TYPE_NOT_ALLOWED"] and wrong_type["media"] is None


async def test_size_mismatch_and_disguised_html_are_rejected_and_deleted(http: httpx.AsyncClient,
                                                                          store: Storage) -> None:
    token = await register(http)

    # The PUT link binds the length, so a different size can only arrive behind its back: write it directly.
    mismatch = await request_upload(http, token, PNG)
    key = key_of_upload(mismatch["upload"]["url"])
    await store.put_bytes(key, PNG[:-10], "image/png")
    rejected = (await gql(http, FINALIZE, {"id": mismatch["media"]["id"]}, token))["media"]
    assert rejected["status"] == "REJECTED" and rejected["rejectReason"] and rejected["url"] is None
    assert await gone(store, key) and await gone(store, final_key(key))

    # HTML declared image/png passes the PUT (type and length are as signed) but never becomes READY.
    disguised = await request_upload(http, token, HTML)
    assert (await put(disguised["upload"], HTML)).status_code == 200
    rejected = (await gql(http, FINALIZE, {"id": disguised["media"]["id"]}, token))["media"]
    assert rejected["status"] == "REJECTED" and "image/png" in rejected["rejectReason"]
    staging = key_of_upload(disguised["upload"]["url"])
    assert await gone(store, staging) and await gone(store, final_key(staging))


async def test_reusing_the_upload_link_after_finalize_changes_nothing_served(
    served: Served, http: httpx.AsyncClient, store: Storage
) -> None:
    """Issue 4: PUT HTML to a READY media's still-valid upload link; the file served stays the PNG."""
    token = await register(http)
    requested = await request_upload(http, token, PNG)
    staging = key_of_upload(requested["upload"]["url"])
    assert staging != final_key(staging)  # the link writes a staging object, never the served key
    assert (await put(requested["upload"], PNG)).status_code == 200
    media = (await gql(http, FINALIZE, {"id": requested["media"]["id"]}, token))["media"]
    assert media["status"] == "READY" and key_of_link(media["url"]) == final_key(staging)
    async with httpx.AsyncClient(timeout=20) as client:
        before = await client.get(media["url"])
        assert before.status_code == 200 and before.content == PNG

        late = await put(requested["upload"], HTML.ljust(len(PNG)))
        local = "B2_ENDPOINT" not in served.env
        assert late.status_code == (409 if local else 200), late.text  # S3 takes it, into the staging object

        after = await client.get(media["url"])
        assert after.status_code == 200 and after.content == PNG
        assert after.headers["etag"] == before.headers["etag"] and after.headers["content-type"] == "image/png"
        served_object = await store.head(final_key(staging))
        assert f'"{served_object.etag}"' == before.headers["etag"]
        staging_link = sign_media_url([SIGNING_KEY.encode()], served.base_url, staging, 3600)
        assert (await client.get(staging_link)).status_code == 404  # staging objects are never served


async def test_a_real_server_makes_the_variants_after_finalize_and_serves_them_without_metadata(
        http: httpx.AsyncClient) -> None:
    """The variant job is sent by finalizeUpload and run by the server's own in-process worker."""
    import asyncio
    import io

    from PIL import Image

    token = await register(http)
    exif = Image.Exif()
    exif[0x0110] = "iPhone 15 Pro"
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (200, 120, 40)).save(out, "JPEG", exif=exif.tobytes())
    body = out.getvalue()
    requested = await request_upload(http, token, body, content_type="image/jpeg")
    assert (await put(requested["upload"], body)).status_code == 200
    media = (await gql(http, FINALIZE, {"id": requested["media"]["id"]}, token))["media"]
    assert media["status"] == "READY"

    query = "query($id: ID!) { media(id: $id) { width height placeholder thumbnail { width height url } } }"
    for _ in range(200):  # the job runs after finalize answered; seconds at most
        shown = await gql(http, query, {"id": media["id"]}, token)
        if shown["thumbnail"] is not None:
            break
        await asyncio.sleep(0.1)
    assert (shown["width"], shown["height"]) == (900, 600) and shown["placeholder"]
    assert (shown["thumbnail"]["width"], shown["thumbnail"]["height"]) == (320, 213)
    async with httpx.AsyncClient(timeout=20) as client:
        thumb = await client.get(shown["thumbnail"]["url"])
        original = await client.get(media["url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    for served_bytes in (thumb.content, original.content):
        with Image.open(io.BytesIO(served_bytes)) as image:
            assert not image.getexif().get_ifd(0x8825) and b"iPhone" not in served_bytes
