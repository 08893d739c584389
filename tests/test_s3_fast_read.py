"""The S3 read path: one plain GET on a cached presigned URL (``honeydue/storage/presigned_reader.py``).

Against the signature-checking test server: the GET is presigned, path-style,
carries the Range, reuses the cached URL, and is refused once the URL expires.
Against a small aiohttp origin: the store failures moto cannot produce (5xx,
keep-alive reuse, a connection dropped after a half-read body).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from honeydue.settings import Settings
from honeydue.storage import create_storage
from honeydue.storage.base import AccessDenied, BucketNotFound, ObjectNotFound, StorageError, StorageUnavailable
from honeydue.storage.presigned_reader import CHUNK_SIZE, PresignedUrlCache
from honeydue.storage.s3 import S3Storage
from tests.s3server import S3TestServer

BODY = os.urandom(700 * 1024)


async def _read(stream: object) -> bytes:
    try:
        return b"".join([chunk async for chunk in stream.chunks])  # type: ignore[attr-defined]
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def s3(s3_settings: Settings) -> AsyncIterator[S3Storage]:
    backend = create_storage(s3_settings)
    assert isinstance(backend, S3Storage)
    async with backend:
        yield backend


# --- the URL cache ---------------------------------------------------------------------------


class _Signer:
    """Counts signings; each URL names its key and its signing number."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, key: str, expires_in: int) -> str:
        self.calls += 1
        return f"https://store/{key}?n={self.calls}&expires={expires_in}"


async def test_cache_signs_once_then_again_before_expiry() -> None:
    now = [1000.0]
    signer = _Signer()
    cache = PresignedUrlCache(signer, lifetime=3600, refresh_margin=1200, clock=lambda: now[0])
    first = await cache.url("a")
    assert str(first) == "https://store/a?n=1&expires=3600"
    now[0] += 2399
    assert await cache.url("a") is first and signer.calls == 1
    now[0] += 1  # 40 min in: 20 min of validity left is the margin, so sign afresh
    assert str(await cache.url("a")) == "https://store/a?n=2&expires=3600"


async def test_cache_is_a_bounded_lru() -> None:
    signer = _Signer()
    cache = PresignedUrlCache(signer, max_entries=2)
    await cache.url("a")
    await cache.url("b")
    await cache.url("a")  # "a" is now the most recently used
    await cache.url("c")  # evicts "b"
    assert len(cache) == 2 and signer.calls == 3
    await cache.url("a")
    assert signer.calls == 3
    await cache.url("b")
    assert signer.calls == 4


async def test_cache_forget_signs_afresh() -> None:
    signer = _Signer()
    cache = PresignedUrlCache(signer)
    await cache.url("a")
    cache.forget("a")
    cache.forget("never-cached")
    assert str(await cache.url("a")) == "https://store/a?n=2&expires=3600"


def test_cache_margin_must_be_shorter_than_the_lifetime() -> None:
    with pytest.raises(ValueError):
        PresignedUrlCache(_Signer(), lifetime=600, refresh_margin=600)


# --- against the signature-checking S3 server ---------------------------------------------------


async def test_open_is_one_presigned_path_style_get_with_the_range(s3: S3Storage, s3_server: S3TestServer) -> None:
    key = "residences/r/documents/a b+ü.pdf"  # characters the signature must encode like S3 does
    await s3.put_bytes(key, BODY, "application/pdf")
    s3_server.clear_requests()
    assert await _read(await s3.open(key, (5, 70_004))) == BODY[5:70_005]
    assert await _read(await s3.open(key)) == BODY
    first, second = list(s3_server.requests)
    signed = await s3.presign_get(key, 60, "application/pdf", "inline")
    assert signed is not None and first.path == urlsplit(signed).path  # sent exactly as botocore encodes it
    for request in (first, second):
        assert request.method == "GET" and request.status in (200, 206)
        assert request.path.startswith(f"/{s3.bucket}/residences/r/documents/")
        assert "authorization" not in request.headers
        assert not [h for h in request.headers if h.startswith(("x-amz-checksum-", "x-amz-sdk-checksum"))]
        query = parse_qs(request.query)
        assert query["X-Amz-SignedHeaders"] == ["host"] and query["X-Amz-Expires"] == ["3600"]
    assert first.headers["range"] == "bytes=5-70004" and "range" not in second.headers
    assert first.query == second.query  # the second read reused the cached URL


async def test_open_answers_like_head(s3: S3Storage) -> None:
    await s3.put_bytes("tasks/t/completions/c.bin", BODY, "application/octet-stream")
    head = await s3.head("tasks/t/completions/c.bin")
    stream = await s3.open("tasks/t/completions/c.bin", (100, 199))
    await stream.aclose()
    assert stream.info == head
    assert (stream.status, stream.content_length, stream.content_range) == (206, 100, f"bytes 100-199/{len(BODY)}")
    whole = await s3.open("tasks/t/completions/c.bin")
    data = [chunk async for chunk in whole.chunks]
    await whole.aclose()
    assert (whole.status, whole.content_length, whole.info) == (200, len(BODY), head)
    assert b"".join(data) == BODY and max(map(len, data)) <= CHUNK_SIZE


async def test_stored_encoding_is_relayed_not_decoded(s3: S3Storage, s3_server: S3TestServer) -> None:
    packed = gzip.compress(BODY)
    s3_server.boto3_client().put_object(
        Bucket=s3.bucket, Key="k.gz", Body=packed, ContentType="text/plain", ContentEncoding="gzip"
    )
    stream = await s3.open("k.gz")
    assert stream.content_length == len(packed)
    assert await _read(stream) == packed


async def test_expired_url_is_refused_and_forgotten(s3: S3Storage, s3_server: S3TestServer) -> None:
    await s3.put_bytes("a.bin", BODY, "application/octet-stream")
    await _read(await s3.open("a.bin", (0, 9)))
    with s3_server.shifted_clock(3601), pytest.raises(AccessDenied):
        await s3.open("a.bin", (0, 9))
    s3_server.clear_requests()
    assert await _read(await s3.open("a.bin", (0, 9))) == BODY[:10]
    assert [r.status for r in s3_server.requests] == [206]


async def test_missing_key_bucket_and_bad_credentials(s3: S3Storage, s3_settings: Settings) -> None:
    with pytest.raises(ObjectNotFound):
        await s3.open("no/such.bin", (0, 9))
    for overrides, error in (
        ({"bucket": "honeyDue-no-such-bucket"}, BucketNotFound),  # a configuration fault, named as such
        ({"secret_key": "not-the-secret"}, AccessDenied),
        ({"access_key": "NOTOURKEY"}, AccessDenied),
    ):
        arguments = {
            "endpoint": s3_settings.b2_endpoint,
            "bucket": s3.bucket,
            "region": s3_settings.b2_region,
            "access_key": s3_settings.b2_key_id,
            "secret_key": s3_settings.b2_app_key,
            "use_ssl": False,
            **overrides,
        }
        async with S3Storage(**arguments) as other:  # type: ignore[arg-type]
            with pytest.raises(error):
                await other.open("no/such.bin")


async def test_range_beyond_the_end_is_a_plain_storage_error(s3: S3Storage) -> None:
    await s3.put_bytes("a.bin", b"0123456789", "application/octet-stream")
    with pytest.raises(StorageError) as caught:
        await s3.open("a.bin", (10, 20))
    assert type(caught.value) is StorageError


# --- against a small origin for what moto cannot do ---------------------------------------------


class _Origin:
    """An HTTP origin at S3 path-style URLs that records requests and the connections they came on."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.connections: set[int] = set()
        self.statuses: dict[str, list[int]] = {}  # key -> statuses to answer, in turn, before 200
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        self.requests.append(key)
        assert request.transport is not None
        self.connections.add(id(request.transport))
        planned = self.statuses.get(key)
        if planned:
            status = planned.pop(0)
            body = f"<Error><Code>{'SlowDown' if status == 503 else 'InternalError'}</Code></Error>"
            return web.Response(status=status, text=body, content_type="application/xml")
        return web.Response(
            body=BODY,
            content_type="application/octet-stream",
            headers={"ETag": f'"{hashlib.md5(BODY).hexdigest()}"', "Last-Modified": formatdate(usegmt=True)},
        )


@pytest.fixture
async def origin() -> AsyncIterator[_Origin]:
    recorder = _Origin()
    app = web.Application()
    app.router.add_get("/bucket/{key:.+}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recorder.url = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def origin_storage(origin: _Origin) -> AsyncIterator[S3Storage]:
    async with S3Storage(endpoint=origin.url, bucket="bucket", region="us-west-004", access_key="k",
                         secret_key="s", use_ssl=False) as backend:
        yield backend


async def test_read_bodies_keep_the_connection_half_read_ones_drop_it(
    origin: _Origin, origin_storage: S3Storage
) -> None:
    for _ in range(20):
        assert await _read(await origin_storage.open("k")) == BODY
    assert len(origin.requests) == 20 and len(origin.connections) == 1
    for _ in range(5):
        stream = await origin_storage.open("k")
        assert await anext(stream.chunks)
        await stream.aclose()
    # The first half-read GET still reused the pooled connection; each after it needed a new one.
    assert len(origin.requests) == 25 and len(origin.connections) == 5


async def test_one_retry_on_a_transient_5xx_like_botocore(origin: _Origin, origin_storage: S3Storage) -> None:
    origin.statuses["flaky"] = [503]
    assert await _read(await origin_storage.open("flaky")) == BODY
    assert origin.requests == ["flaky", "flaky"]
    origin.statuses["down"] = [500, 503]
    with pytest.raises(StorageUnavailable):
        await origin_storage.open("down")
    assert origin.requests[2:] == ["down", "down"]


async def test_open_requires_start() -> None:
    backend = S3Storage(endpoint="http://127.0.0.1:9", bucket="b", region="r", access_key="k", secret_key="s")
    with pytest.raises(RuntimeError, match="start"):
        await backend.open("k")


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with S3Storage(endpoint=f"http://127.0.0.1:{port}", bucket="b", region="r", access_key="k",
                         secret_key="s", use_ssl=False) as backend:
        with pytest.raises(StorageUnavailable):
            await backend.open("k", (0, 1))
