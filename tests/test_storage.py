"""One behaviour suite for both storage backends, plus what is specific to each.

The S3 backend runs against ``tests/s3server.py`` over HTTP: moto behind a
SigV4 check, so presigned links are refused exactly where a real store would
refuse them (wrong type or length, tampered, expired).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from honeydue.settings import Settings, load_settings
from honeydue.signing import verify_upload
from honeydue.storage import create_storage
from honeydue.storage.base import ObjectNotFound, StorageError, StorageTimeout, StorageUnavailable
from honeydue.storage.local import CHUNK_SIZE as LOCAL_CHUNK_SIZE
from honeydue.storage.local import InvalidKey, LocalStorage, UploadLengthMismatch
from honeydue.storage.presigned_reader import CHUNK_SIZE as READ_CHUNK_SIZE
from honeydue.storage.s3 import S3Storage, endpoint_url
from tests.plugins.s3 import STORAGE_BACKENDS, s3_env_for
from tests.s3server import S3TestServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BIG = os.urandom(300 * 1024)  # several chunks on either backend
HUGE = BIG * 64  # ~19 MB: more than loopback socket buffers hold


def _local_settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "HONEYDUE_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_SIGNING_KEY": "test-signing-key-" + "l" * 32,
            "PUBLIC_GATEWAY_URL": "http://gateway.test",
        }
    )


@pytest.fixture(params=STORAGE_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "s3":
        settings = request.getfixturevalue("s3_settings")
    else:
        settings = _local_settings(tmp_path)
    backend = create_storage(settings)
    async with backend:  # type: ignore[attr-defined]
        yield backend


async def _collect(stream: object) -> tuple[bytes, list[int]]:
    sizes: list[int] = []
    parts: list[bytes] = []
    try:
        async for chunk in stream.chunks:  # type: ignore[attr-defined]
            sizes.append(len(chunk))
            parts.append(chunk)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return b"".join(parts), sizes


# --- the shared behaviour -------------------------------------------------------------------


async def test_create_storage_picks_the_backend(storage, s3_server: S3TestServer) -> None:
    expected = S3Storage if isinstance(storage, S3Storage) else LocalStorage
    assert isinstance(storage, expected)


async def test_put_then_head(storage) -> None:
    await storage.put_bytes("tasks/t1/completions/a.png", PNG, "image/png")
    info = await storage.head("tasks/t1/completions/a.png")
    assert info.key == "tasks/t1/completions/a.png"
    assert info.size == len(PNG)
    assert info.etag == hashlib.md5(PNG).hexdigest()
    assert info.content_type == "image/png"
    assert isinstance(info.last_modified, datetime) and info.last_modified.tzinfo is not None
    assert abs(info.last_modified.timestamp() - time.time()) < 120


async def test_open_full_streams_in_bounded_chunks(storage) -> None:
    await storage.put_bytes("big.bin", BIG, "application/octet-stream")
    stream = await storage.open("big.bin")
    assert (stream.status, stream.content_length, stream.content_range) == (200, len(BIG), None)
    assert stream.info.size == len(BIG)
    assert stream.info.etag == hashlib.md5(BIG).hexdigest()
    data, sizes = await _collect(stream)
    assert data == BIG
    bound = READ_CHUNK_SIZE if isinstance(storage, S3Storage) else LOCAL_CHUNK_SIZE
    assert len(sizes) > 1 and max(sizes) <= bound


@pytest.mark.parametrize(("first", "last"), [(0, 0), (2, 5), (1000, 200_000), (len(BIG) - 1, len(BIG) - 1)])
async def test_open_range(storage, first: int, last: int) -> None:
    await storage.put_bytes("big.bin", BIG, "application/octet-stream")
    stream = await storage.open("big.bin", (first, last))
    assert stream.status == 206
    assert stream.content_length == last - first + 1
    assert stream.content_range == f"bytes {first}-{last}/{len(BIG)}"
    assert stream.info.size == len(BIG)
    data, _ = await _collect(stream)
    assert data == BIG[first : last + 1]


async def test_open_range_past_the_end_stops_at_the_end(storage) -> None:
    await storage.put_bytes("a.png", PNG, "image/png")
    stream = await storage.open("a.png", (10, 10_000_000))
    assert stream.content_range == f"bytes 10-{len(PNG) - 1}/{len(PNG)}"
    assert (await _collect(stream))[0] == PNG[10:]


async def test_open_range_beyond_the_object_is_an_error(storage) -> None:
    await storage.put_bytes("a.png", PNG, "image/png")
    with pytest.raises(StorageError):
        await storage.open("a.png", (len(PNG), len(PNG) + 10))


async def test_read_prefix(storage) -> None:
    await storage.put_bytes("a.png", PNG, "image/png")
    await storage.put_bytes("tiny", b"ab", "text/plain")
    await storage.put_bytes("empty", b"", "text/plain")
    assert await storage.read_prefix("a.png", 8) == PNG[:8]
    assert await storage.read_prefix("tiny", 64) == b"ab"
    assert await storage.read_prefix("empty", 64) == b""


async def test_list_by_prefix_in_key_order(storage) -> None:
    keys = ["users/u1/profile/b.png", "users/u1/profile/a.png", "users/u2/profile/c.png", "usersx/d.png"]
    for key in keys:
        await storage.put_bytes(key, PNG, "image/png")
    listed = [info async for info in storage.list("users/u1/")]
    assert [i.key for i in listed] == ["users/u1/profile/a.png", "users/u1/profile/b.png"]
    assert all(i.size == len(PNG) and i.etag == hashlib.md5(PNG).hexdigest() for i in listed)
    assert [i.key async for i in storage.list("users")] == sorted(keys)
    assert [i.key async for i in storage.list("nothing/")] == []


async def test_delete_is_idempotent(storage) -> None:
    await storage.put_bytes("residences/r/documents/x.pdf", b"%PDF-1.7", "application/pdf")
    await storage.delete("residences/r/documents/x.pdf")
    with pytest.raises(ObjectNotFound):
        await storage.head("residences/r/documents/x.pdf")
    await storage.delete("residences/r/documents/x.pdf")
    assert [i async for i in storage.list("residences/")] == []


async def test_copy_is_server_side_and_keeps_type_and_etag(storage, request: pytest.FixtureRequest) -> None:
    src, dst = "users/u/profile/p.png.upload", "users/u/profile/p.png"
    await storage.put_bytes(src, PNG, "image/png")
    if isinstance(storage, S3Storage):
        server: S3TestServer = request.getfixturevalue("s3_server")
        server.clear_requests()
    await storage.copy(src, dst)
    info = await storage.head(dst)
    assert (info.size, info.etag, info.content_type) == (len(PNG), hashlib.md5(PNG).hexdigest(), "image/png")
    assert await storage.read_prefix(dst, len(PNG)) == PNG
    # Overwriting the source afterwards (a late PUT to an upload URL) leaves the copy as it was.
    await storage.put_bytes(src, b"<html><script>x</script>", "image/png")
    assert await storage.read_prefix(dst, len(PNG)) == PNG
    assert (await storage.head(dst)).etag == info.etag
    if isinstance(storage, S3Storage):
        (copy,) = [r for r in server.requests if r.method == "PUT" and "x-amz-copy-source" in r.headers]
        assert copy.status == 200 and copy.path.startswith(f"/{storage.bucket}/users/")  # path-style
        assert copy.headers["x-amz-copy-source"].startswith(f"{storage.bucket}/")  # mixed case kept
        assert not any(h.startswith(("x-amz-checksum-", "x-amz-sdk-checksum")) for h in copy.headers)


async def test_copy_of_a_missing_source_is_object_not_found(storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.copy("no/such.png.upload", "no/such.png")
    with pytest.raises(ObjectNotFound):
        await storage.head("no/such.png")


async def test_missing_key_is_object_not_found(storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.head("no/such.png")
    with pytest.raises(ObjectNotFound):
        await storage.open("no/such.png")
    with pytest.raises(ObjectNotFound):
        await storage.open("no/such.png", (0, 10))
    with pytest.raises(ObjectNotFound):
        await storage.read_prefix("no/such.png", 16)


async def test_presign_put_binds_type_and_length(storage) -> None:
    before = time.time()  # bracketing the call, not a timed assertion: 900 s from the moment of signing
    target = await storage.presign_put("users/u/profile/p.png", "image/png", len(PNG), None, 900)
    after = time.time()
    assert target.method == "PUT"
    assert target.headers == {"Content-Type": "image/png", "Content-Length": str(len(PNG))}
    assert before + 899 <= target.expires_at.timestamp() <= after + 900  # 899: a whole-second expiry


# --- S3: presigned links as a real store checks them -------------------------------------------


@pytest.fixture
async def s3(s3_settings: Settings) -> AsyncIterator[S3Storage]:
    backend = create_storage(s3_settings)
    assert isinstance(backend, S3Storage)
    async with backend:
        yield backend


async def test_s3_presigned_put_with_the_given_headers_is_stored(s3: S3Storage) -> None:
    md5 = __import__("base64").b64encode(hashlib.md5(PNG).digest()).decode()
    target = await s3.presign_put("users/u/profile/p.png", "image/png", len(PNG), md5, 900)
    assert target.headers["Content-MD5"] == md5
    async with httpx.AsyncClient() as http:
        resp = await http.put(target.url, content=PNG, headers=target.headers)
    assert resp.status_code == 200, resp.text
    info = await s3.head("users/u/profile/p.png")
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    assert await s3.read_prefix("users/u/profile/p.png", 8) == PNG[:8]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (PNG, {"Content-Type": "text/html"}),
        (PNG + b"extra", {"Content-Type": "image/png"}),
        (PNG[:-1], {"Content-Type": "image/png"}),
        (PNG, {}),
    ],
    ids=["other-type", "longer", "shorter", "no-type"],
)
async def test_s3_presigned_put_refuses_other_type_or_length(s3: S3Storage, body: bytes, headers: dict) -> None:
    target = await s3.presign_put("users/u/profile/p.png", "image/png", len(PNG), None, 900)
    async with httpx.AsyncClient() as http:
        resp = await http.put(target.url, content=body, headers=headers)
    assert resp.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in resp.text
    with pytest.raises(ObjectNotFound):
        await s3.head("users/u/profile/p.png")


async def test_s3_presigned_put_refuses_a_tampered_link(s3: S3Storage) -> None:
    target = await s3.presign_put("users/u/profile/p.png", "image/png", len(PNG), None, 900)
    url = urlsplit(target.url)
    sig = parse_qs(url.query)["X-Amz-Signature"][0]
    forged_sig = url._replace(query=url.query.replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1")))
    other_key = url._replace(path=url.path.replace("p.png", "q.png"))
    longer = url._replace(query=url.query.replace("X-Amz-Expires=900", "X-Amz-Expires=9000"))
    async with httpx.AsyncClient() as http:
        for forged in (forged_sig, other_key, longer):
            resp = await http.put(forged.geturl(), content=PNG, headers=target.headers)
            assert resp.status_code == 403, forged
    assert [i async for i in s3.list("users/")] == []


async def test_s3_presigned_put_expires(s3: S3Storage, s3_server: S3TestServer) -> None:
    target = await s3.presign_put("users/u/profile/p.png", "image/png", len(PNG), None, 60)
    async with httpx.AsyncClient() as http:
        with s3_server.shifted_clock(61):
            resp = await http.put(target.url, content=PNG, headers=target.headers)
    assert resp.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in resp.text


async def test_s3_presigned_get_answers_with_our_type_and_disposition_then_expires(
    s3: S3Storage, s3_server: S3TestServer
) -> None:
    await s3.put_bytes("residences/r/documents/d.pdf", b"%PDF-1.7 body", "application/octet-stream")
    disposition = "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf"
    url = await s3.presign_get("residences/r/documents/d.pdf", 300, "application/pdf", disposition)
    assert url is not None
    async with httpx.AsyncClient() as http:
        resp = await http.get(url)
        assert resp.status_code == 200
        assert resp.content == b"%PDF-1.7 body"
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.headers["content-disposition"] == disposition
        with s3_server.shifted_clock(301):
            expired = await http.get(url)
    assert expired.status_code == 403 and "Request has expired" in expired.text


async def test_s3_presigned_get_lives_at_most_seven_days(s3: S3Storage) -> None:
    url = await s3.presign_get("k", 30 * 24 * 3600, "image/png", "inline")
    assert url is not None
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(7 * 24 * 3600)]


async def test_s3_client_sends_no_checksum_headers_and_uses_path_style(
    s3_server: S3TestServer, tmp_path: Path
) -> None:
    bucket = s3_server.make_bucket("honeyDueProd")
    settings = load_settings({**s3_env_for(s3_server, bucket), "HONEYDUE_VAR_DIR": str(tmp_path)})
    async with create_storage(settings) as backend:  # type: ignore[attr-defined]
        s3_server.clear_requests()
        await backend.put_bytes("tasks/t/completions/c.png", PNG, "image/png")
        await backend.head("tasks/t/completions/c.png")
        assert await backend.read_prefix("tasks/t/completions/c.png", 4) == PNG[:4]
        _, _ = await _collect(await backend.open("tasks/t/completions/c.png", (0, 9)))
        assert [i.key async for i in backend.list("tasks/t/")] == ["tasks/t/completions/c.png"]
        await backend.delete("tasks/t/completions/c.png")
    seen = list(s3_server.requests)
    assert [r.method for r in seen] == ["PUT", "HEAD", "GET", "GET", "GET", "DELETE"]
    assert all(r.status is not None and r.status < 300 for r in seen)
    for r in seen:
        assert r.path.startswith("/honeyDueProd"), r.path  # path-style: the bucket is in the path
        assert r.headers["host"] == f"127.0.0.1:{s3_server.port}"
        offending = [h for h in r.headers if h.startswith(("x-amz-checksum-", "x-amz-sdk-checksum"))]
        assert offending == [], (r.method, offending)
        assert r.headers.get("x-amz-content-sha256", "").startswith("STREAMING") is False


async def test_s3_unavailable_when_the_store_is_down(s3: S3Storage, s3_server: S3TestServer) -> None:
    await s3.put_bytes("a.png", PNG, "image/png")
    s3_server.stop()
    try:
        with pytest.raises(StorageUnavailable):
            await s3.head("a.png")
        with pytest.raises(StorageUnavailable):
            await s3.open("a.png")
        with pytest.raises(StorageUnavailable):
            await s3.put_bytes("b.png", PNG, "image/png")
    finally:
        s3_server.start()
    assert (await s3.head("a.png")).size == len(PNG)  # same port, same data, same client


def test_store_timeouts_are_storage_timeouts_whichever_client_timed_out() -> None:
    """The gateway tells a slow store (504) from a dead one (503) by the error's type, not its name."""
    import aiohttp
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    from honeydue.storage.s3 import map_error

    url = "http://store.example"
    for slow in [ReadTimeoutError(endpoint_url=url), ConnectTimeoutError(endpoint_url=url),
                 aiohttp.ServerTimeoutError("read"), TimeoutError()]:
        mapped = map_error(slow, "k")
        assert isinstance(mapped, StorageTimeout) and isinstance(mapped, StorageUnavailable), slow
    for down in [EndpointConnectionError(endpoint_url=url), ConnectionRefusedError(), aiohttp.ClientOSError()]:
        mapped = map_error(down, "k")
        assert isinstance(mapped, StorageUnavailable) and not isinstance(mapped, StorageTimeout), down


async def test_s3_closed_streams_release_their_connections(s3: S3Storage, s3_server: S3TestServer) -> None:
    """A body closed half-read must drop its connection, or the pool (and the store) fill up.

    The object is larger than the loopback socket buffers, so the store's side of
    a connection stays open (blocked writing) for as long as the client keeps the
    body; the test server closes every connection after its response otherwise.
    """
    await s3.put_bytes("huge.bin", HUGE, "application/octet-stream")
    kept = []  # hold every stream, as a handler that forgot aclose() would
    for _ in range(12):
        stream = await s3.open("huge.bin")
        assert await anext(stream.chunks)
        await stream.aclose()
        kept.append(stream)
    for _ in range(200):  # the server notices closed sockets on its own threads
        if s3_server.open_connections == 0:
            break
        await asyncio.sleep(0.05)
    assert s3_server.open_connections == 0


def test_endpoint_scheme_follows_use_ssl() -> None:
    assert endpoint_url("s3.us-west-004.backblazeb2.com", True) == "https://s3.us-west-004.backblazeb2.com"
    assert endpoint_url("minio:9000", False) == "http://minio:9000"
    assert endpoint_url("http://127.0.0.1:9000/", True) == "http://127.0.0.1:9000"


async def test_s3_requires_start(s3_settings: Settings) -> None:
    backend = create_storage(s3_settings)
    with pytest.raises(RuntimeError, match="start"):
        await backend.head("a")


# --- local: upload URLs and the media directory's walls ----------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    backend = create_storage(_local_settings(tmp_path))
    assert isinstance(backend, LocalStorage)
    return backend


async def test_local_presign_put_is_a_signed_gateway_url(local: LocalStorage, tmp_path: Path) -> None:
    keys = _local_settings(tmp_path).signing_keys()
    target = await local.presign_put("users/u/profile/ä b.png", "image/png", 1234, None, 900)
    url = urlsplit(target.url)
    assert f"{url.scheme}://{url.netloc}" == "http://gateway.test"
    assert url.path == "/media/upload/users/u/profile/%C3%A4%20b.png"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (q["ct"], q["len"]) == ("image/png", "1234")
    assert int(q["exp"]) == int(target.expires_at.timestamp())
    assert verify_upload(keys, "users/u/profile/ä b.png", q["ct"], q["len"], q["exp"], q["sig"])
    assert not verify_upload(keys, "users/u/profile/ä b.png", "text/html", q["len"], q["exp"], q["sig"])
    assert not verify_upload(keys, "users/u/profile/ä b.png", q["ct"], "1235", q["exp"], q["sig"])
    assert not verify_upload(keys, "users/u/profile/other.png", q["ct"], q["len"], q["exp"], q["sig"])
    assert not verify_upload(keys, "users/u/profile/ä b.png", q["ct"], q["len"], q["exp"], q["sig"],
                             now=int(q["exp"]) + 1)


async def test_local_presign_get_is_none(local: LocalStorage) -> None:
    assert await local.presign_get("a.png", 60, "image/png", "inline") is None


@pytest.mark.parametrize(
    "key",
    ["../escape.png", "a/../../escape.png", "/etc/passwd", "a\\..\\b.png", "a\x00b", "a/./b", "a//b", "",
     ".hidden", "a/.tmp", "x.png.meta.json", "a/\nb", "a" * 513],
)
async def test_local_keys_cannot_escape(local: LocalStorage, key: str) -> None:
    for call in (
        local.head(key),
        local.open(key),
        local.read_prefix(key, 4),
        local.put_bytes(key, b"x", "image/png"),
        local.delete(key),
        local.presign_put(key, "image/png", 1, None, 60),
        local.copy(key, "ok.png"),
        local.copy("ok.png", key),
    ):
        with pytest.raises(InvalidKey):
            await call


async def test_local_symlink_out_of_the_media_dir_is_refused(local: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    (local.root / "link").symlink_to(outside)
    with pytest.raises(InvalidKey):
        await local.head("link/secret.png")
    with pytest.raises(InvalidKey):
        await local.put_bytes("link/new.png", PNG, "image/png")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.png"]


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_local_write_stream_exact_length(local: LocalStorage) -> None:
    info = await local.write_stream("a/b.png", _chunks(PNG[:100], PNG[100:]), len(PNG), content_type="image/png")
    assert (info.size, info.etag, info.content_type) == (len(PNG), hashlib.md5(PNG).hexdigest(), "image/png")
    assert (local.root / "a" / "b.png").read_bytes() == PNG
    assert [i.key async for i in local.list("")] == ["a/b.png"]  # the sidecar stays hidden


@pytest.mark.parametrize("parts", [(PNG, b"x"), (PNG[:-1],), ()], ids=["longer", "shorter", "empty"])
async def test_local_write_stream_wrong_length_stores_nothing(local: LocalStorage, parts: tuple) -> None:
    with pytest.raises(UploadLengthMismatch):
        await local.write_stream("a/b.png", _chunks(*parts), len(PNG), content_type="image/png")
    assert sorted(p.name for p in (local.root / "a").iterdir()) == []  # no object, no temp file


async def test_local_overwrite_is_atomic_and_refreshes_etag(local: LocalStorage) -> None:
    await local.put_bytes("a.png", PNG, "image/png")
    await local.put_bytes("a.png", b"GIF89a...", "image/gif")
    info = await local.head("a.png")
    assert (info.etag, info.content_type, info.size) == (hashlib.md5(b"GIF89a...").hexdigest(), "image/gif", 9)
    assert sorted(p.name for p in local.root.iterdir()) == ["a.png", "a.png.meta.json"]


async def test_local_copy_leaves_no_temporary_file_and_a_fresh_sidecar(local: LocalStorage) -> None:
    await local.put_bytes("a/b.png.upload", PNG, "image/png")
    await local.copy("a/b.png.upload", "a/c/b.png")
    assert sorted(p.name for p in (local.root / "a" / "c").iterdir()) == ["b.png", "b.png.meta.json"]
    meta = json.loads((local.root / "a" / "c" / "b.png.meta.json").read_text())
    assert (meta["etag"], meta["content_type"], meta["size"]) == (hashlib.md5(PNG).hexdigest(), "image/png", len(PNG))


async def test_local_etag_survives_a_missing_sidecar(local: LocalStorage) -> None:
    await local.put_bytes("a.png", PNG, "image/png")
    (local.root / "a.png.meta.json").unlink()
    assert (await local.head("a.png")).etag == hashlib.md5(PNG).hexdigest()


async def test_local_delete_prunes_empty_directories(local: LocalStorage) -> None:
    await local.put_bytes("tasks/t/completions/a.png", PNG, "image/png")
    await local.delete("tasks/t/completions/a.png")
    assert list(local.root.iterdir()) == []
