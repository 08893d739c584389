"""The media gateway over ASGI, on the local directory backend and on the S3 test server.

Media rows are created directly; objects are written with the storage's own
``put_bytes``. Every test runs on both storage backends (and, through the
shared ``settings`` fixture, on the database backend of the run) unless it is about one
backend only.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tortoise.exceptions import OperationalError

from gateway.app import create_gateway_app
from gateway.auth import AccessCache
from gateway.conditional import http_date
from gateway.media_rows import RecentMedia
from gateway.state import GatewayState, attach_gateway
from honeydue.models import Media, Membership, Residence, User
from honeydue.models.enums import MediaPurpose, MediaStatus, ResidenceRole
from honeydue.services import services_of
from honeydue.settings import Settings
from honeydue.signing import sign_media_url, sign_upload
from honeydue.storage import StorageTimeout, StorageUnavailable, create_storage
from honeydue.tokens import issue_token
from tests.conftest import attach_test_services, free_port, make_settings, missing_service
from tests.plugins.s3 import STORAGE_BACKENDS, s3_env_for

GATEWAY_REDIS_URL = os.environ.get("TEST_GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/10")
BODY = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable
SIZE = len(BODY)


@dataclass
class Gateway:
    http: httpx.AsyncClient
    app: Any
    settings: Settings
    storage: Any
    backend: str
    s3: Any = None  # the S3TestServer on the s3 backend

    def link(self, key: str, expires_in: int = 900, now: float | None = None) -> str:
        url = sign_media_url(self.settings.signing_keys(), "http://testserver", key, expires_in, now=now)
        return url.removeprefix("http://testserver")

    def use(self, recent_media: RecentMedia | None = None, **changes: Any) -> None:
        """Swap parts of the app's services (``redis=…``, ``settings=…``), as if opened so; caches made anew."""
        services = replace(services_of(self.app), **changes)
        attach_gateway(self.app, services, GatewayState(AccessCache(services.redis), recent_media or RecentMedia()))

    def upstream_requests(self, method: str | None = None) -> list[Any]:
        assert self.s3 is not None
        return [r for r in self.s3.requests if method is None or r.method == method]


@pytest.fixture(scope="session")
async def shared_s3(s3_server: Any) -> AsyncIterator[tuple[dict[str, str], Any]]:
    """One bucket and one started S3 client for the module: starting a client costs ~0.5 s."""
    env = s3_env_for(s3_server, s3_server.make_bucket(f"honeyDue-gw-{uuid.uuid4().hex[:8]}"))
    storage = create_storage(make_settings(Path("/nonexistent"), **env))
    await storage.start()
    yield env, storage
    await storage.close()


@pytest.fixture(params=STORAGE_BACKENDS)
def s3_backend(request: pytest.FixtureRequest) -> tuple[Any, dict[str, str], Any] | None:
    """On the s3 param: the S3 test server, the shared bucket's variables and client; None on local.

    Synchronous so that only the s3 param starts the server (an async fixture cannot ask for one lazily).
    """
    if request.param == "local":
        return None
    server = request.getfixturevalue("s3_server")
    server.start()  # a fault test may have stopped it
    env, storage = request.getfixturevalue("shared_s3")
    return server, env, storage


@pytest.fixture
async def gw(
    s3_backend: tuple[Any, dict[str, str], Any] | None, settings: Settings, tmp_path: Path
) -> AsyncIterator[Gateway]:
    s3 = None
    if s3_backend is not None:
        s3, env, storage = s3_backend
        gw_settings = make_settings(tmp_path / "s3", DATABASE_URL=settings.database_url, **env)
    else:
        gw_settings = settings
        storage = create_storage(gw_settings)
        await storage.start()
    app = create_gateway_app(gw_settings)
    transport = httpx.ASGITransport(app=app)
    async with attach_test_services(app, gw_settings, storage=storage), \
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Gateway(http, app, gw_settings, storage, "local" if s3 is None else "s3", s3)
    if s3 is None:
        await storage.close()


async def make_user(name: str = "user") -> tuple[User, str]:
    user = await User.create(email=f"{name}-{uuid.uuid4().hex[:8]}@example.com", password_hash="-",
                             display_name=name)
    return user, await issue_token(user, ttl_days=1)


async def put_media(
    gw: Gateway,
    owner: User | None = None,
    *,
    body: bytes = BODY,
    content_type: str = "application/pdf",
    filename: str = "Ünïcode manual.pdf",
    purpose: MediaPurpose = MediaPurpose.DOCUMENT_FILE,
    residence: Residence | None = None,
    store: bool = True,
) -> Media:
    key = f"residences/{uuid.uuid4()}/documents/{uuid.uuid4()}.bin"
    etag = None
    if store:
        await gw.storage.put_bytes(key, body, content_type)
        etag = (await gw.storage.head(key)).etag
    return await Media.create(
        key=key, owner=owner, purpose=purpose, residence=residence, filename=filename,
        content_type=content_type, size=len(body), status=MediaStatus.READY, etag=etag,
        finalized_at=datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC),
    )


# --- signed links -----------------------------------------------------------------------------------


async def test_full_download_with_a_signed_link(gw: Gateway) -> None:
    media = await put_media(gw)
    now = time.time()
    response = await gw.http.get(gw.link(media.key))
    assert response.status_code == 200
    assert response.content == BODY
    h = response.headers
    assert h["content-length"] == str(SIZE)
    assert h["accept-ranges"] == "bytes"
    assert h["etag"] == f'"{media.etag}"'
    assert h["last-modified"] == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert h["content-type"] == "application/pdf"
    assert h["x-content-type-options"] == "nosniff"
    assert h["content-disposition"].startswith("inline; filename=")
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20manual.pdf" in h["content-disposition"]
    exp = int(urlsplit(gw.link(media.key)).query.split("exp=")[1].split("&")[0])
    directive = re.fullmatch(r"public, max-age=(\d+), immutable", h["cache-control"])
    assert directive and exp - now - 2 <= int(directive.group(1)) <= exp - now + 1
    assert h["access-control-allow-origin"] == "*"
    assert "Content-Range" in h["access-control-expose-headers"] and "ETag" in h["access-control-expose-headers"]


def _assert_no_object_info(response: httpx.Response) -> None:
    for name in ("etag", "last-modified", "content-range", "accept-ranges", "content-disposition"):
        assert name not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert str(SIZE) not in response.text


async def test_tampered_missing_and_expired_links_are_refused(gw: Gateway) -> None:
    media = await put_media(gw)
    good = gw.link(media.key)
    path, query = good.split("?")
    sig = query.split("sig=")[1]
    bad_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    expired = gw.link(media.key, expires_in=60, now=time.time() - 7200)
    other = await put_media(gw)
    for url in [
        f"{path}?{query.replace(sig, bad_sig)}",
        f"{path}?exp={int(query.split('exp=')[1].split('&')[0]) + 3600}&sig={sig}",
        f"{path}?sig={sig}",
        f"{path}?exp=1",
        path,  # neither signature nor bearer
        expired,
        f"/media/{other.key}?{query}",  # a signature for another object
    ]:
        for method in ("GET", "HEAD"):
            response = await gw.http.request(method, url, headers={"Range": "bytes=0-9"})
            assert response.status_code == 403, (method, url)
            _assert_no_object_info(response)


async def test_valid_signature_for_a_missing_object_is_404(gw: Gateway) -> None:
    response = await gw.http.get(gw.link("residences/x/documents/missing.pdf"))
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    pending = await put_media(gw)
    await Media.filter(id=pending.id).update(status=MediaStatus.PENDING)
    assert (await gw.http.get(gw.link(pending.key))).status_code == 404


# --- ranges -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-300", SIZE - 300, SIZE - 1),
        ("bytes=10000-999999", 10000, SIZE - 1),
        ("bytes=5-5", 5, 5),
        ("bytes=0-9,40-49", 0, 49),  # close ranges are coalesced into one
    ],
)
async def test_single_ranges(gw: Gateway, header: str, first: int, last: int) -> None:
    media = await put_media(gw)
    response = await gw.http.get(gw.link(media.key), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == BODY[first:last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["etag"] == f'"{media.etag}"'


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-30000", "bytes=-0"])
async def test_unsatisfiable_range_is_416(gw: Gateway, header: str) -> None:
    media = await put_media(gw)
    response = await gw.http.get(gw.link(media.key), headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=9-1", "lines=0-9", "bytes=" + ",".join(["0-1"] * 50)])
async def test_invalid_or_abusive_range_gets_the_whole_object(gw: Gateway, header: str) -> None:
    media = await put_media(gw)
    response = await gw.http.get(gw.link(media.key), headers={"Range": header})
    assert response.status_code == 200
    assert response.content == BODY
    assert "content-range" not in response.headers


def parse_multipart(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    assert match, response.headers["content-type"]
    boundary = match.group(1).encode()
    body = response.content
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for chunk in body[: -len(b"\r\n--" + boundary + b"--\r\n")].split(b"--" + boundary + b"\r\n")[1:]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields["Content-Type"], fields["Content-Range"], data))
    return parts


async def test_multi_range_is_a_correct_multipart_response(gw: Gateway) -> None:
    media = await put_media(gw)
    if gw.s3:
        gw.s3.clear_requests()
    response = await gw.http.get(gw.link(media.key), headers={"Range": "bytes=0-9,1000-1009,-5"})
    assert response.status_code == 206
    assert int(response.headers["content-length"]) == len(response.content)
    assert parse_multipart(response) == [
        ("application/pdf", f"bytes 0-9/{SIZE}", BODY[0:10]),
        ("application/pdf", f"bytes 1000-1009/{SIZE}", BODY[1000:1010]),
        ("application/pdf", f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}", BODY[-5:]),
    ]
    if gw.s3:  # one upstream request covering the span, never one per part
        assert [r.method for r in gw.upstream_requests()] == ["GET"]
    head = await gw.http.head(gw.link(media.key), headers={"Range": "bytes=0-9,1000-1009,-5"})
    assert head.headers["content-length"] == response.headers["content-length"]


# --- HEAD and conditionals --------------------------------------------------------------------------


async def test_head_sends_the_headers_without_body_or_upstream_request(gw: Gateway) -> None:
    media = await put_media(gw)
    get = await gw.http.get(gw.link(media.key))
    if gw.s3:
        gw.s3.clear_requests()
    head = await gw.http.head(gw.link(media.key))
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "etag", "last-modified", "content-type", "content-disposition",
                 "accept-ranges", "x-content-type-options"):
        assert head.headers[name] == get.headers[name], name
    assert head.headers["cache-control"].startswith("public, max-age=")
    ranged = await gw.http.head(gw.link(media.key), headers={"Range": "bytes=-10"})
    assert ranged.status_code == 206 and ranged.headers["content-range"] == f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"
    if gw.s3:
        assert gw.upstream_requests() == []


async def test_conditional_requests(gw: Gateway) -> None:
    media = await put_media(gw)
    url = gw.link(media.key)
    etag = f'"{media.etag}"'
    last_modified = "Sun, 01 Mar 2026 12:00:00 GMT"
    if gw.s3:
        gw.s3.clear_requests()
    not_modified = await gw.http.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"].startswith("public, max-age=")
    assert (await gw.http.get(url, headers={"If-Modified-Since": last_modified})).status_code == 304
    assert (await gw.http.head(url, headers={"If-None-Match": f"W/{etag}"})).status_code == 304
    # A precondition is evaluated before the range.
    assert (await gw.http.get(url, headers={"If-None-Match": etag, "Range": "bytes=0-1"})).status_code == 304
    if gw.s3:
        assert gw.upstream_requests() == []  # revalidation never touches the store
    changed = await gw.http.get(url, headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == BODY
    earlier = http_date(datetime(2026, 2, 1, tzinfo=UTC))
    assert (await gw.http.get(url, headers={"If-Modified-Since": earlier})).status_code == 200
    assert (await gw.http.get(url, headers={"If-Match": '"other"'})).status_code == 412


async def test_repeated_validator_field_lines_are_one_list(gw: Gateway) -> None:
    """RFC 9110 section 5.3: two If-None-Match (or If-Match) lines mean the same as one line listing both."""
    media = await put_media(gw)
    url = gw.link(media.key)
    etag = f'"{media.etag}"'
    revalidated = await gw.http.get(url, headers=[("If-None-Match", '"other"'), ("If-None-Match", etag)])
    assert revalidated.status_code == 304
    matched = await gw.http.get(url, headers=[("If-Match", '"other"'), ("If-Match", etag)])
    assert matched.status_code == 200 and matched.content == BODY
    refused = await gw.http.get(url, headers=[("If-Match", '"other"'), ("If-Match", '"another"')])
    assert refused.status_code == 412


@pytest.mark.parametrize("since", [
    "Sun, 01 Mar 2099 12:00:00 +0500",  # numeric zone: not an HTTP-date
    "01 Mar 2099 12:00:00 GMT",  # no weekday
    "Sun, 01 Mar 2099 12:00:00",  # no zone
    "sun, 01 mar 2099 12:00:00 gmt",  # HTTP-date is case-sensitive
    "Sun, 31 Feb 2099 12:00:00 GMT",  # no such day
])
async def test_an_invalid_if_modified_since_is_ignored(gw: Gateway, since: str) -> None:
    """RFC 9110 section 13.1.3: a field value that is not a valid HTTP-date is ignored (the object is sent)."""
    media = await put_media(gw)
    response = await gw.http.get(gw.link(media.key), headers={"If-Modified-Since": since})
    assert response.status_code == 200 and response.content == BODY
    unmodified = await gw.http.get(gw.link(media.key), headers={"If-Unmodified-Since": since.replace("2099", "2001")})
    assert unmodified.status_code == 200


@pytest.mark.parametrize("since", [
    "Sun, 01 Mar 2099 12:00:00 GMT",  # IMF-fixdate
    "Sunday, 01-Mar-99 12:00:00 GMT",  # RFC 850: a year more than 50 years ahead is the last century's
    "Sun Mar  1 12:00:00 2099",  # asctime
])
async def test_every_http_date_form_is_honoured(gw: Gateway, since: str) -> None:
    media = await put_media(gw)
    response = await gw.http.get(gw.link(media.key), headers={"If-Modified-Since": since})
    expected = 200 if "-99" in since else 304  # 1999 lies before the object's Last-Modified
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        ("etag", 206),
        ('"stale"', 200),
        ("weak", 200),
        ("Sun, 01 Mar 2026 12:00:00 GMT", 206),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 200),
    ],
)
async def test_if_range(gw: Gateway, if_range: str, status: int) -> None:
    media = await put_media(gw)
    value = {"etag": f'"{media.etag}"', "weak": f'W/"{media.etag}"'}.get(if_range, if_range)
    response = await gw.http.get(gw.link(media.key), headers={"Range": "bytes=0-9", "If-Range": value})
    assert response.status_code == status
    assert response.content == (BODY[:10] if status == 206 else BODY)


# --- content types and disposition ------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/x-evil"])
async def test_active_types_are_served_as_opaque_downloads(gw: Gateway, content_type: str) -> None:
    media = await put_media(gw, content_type=content_type, filename="evil\r\nSet-Cookie: x.html")
    response = await gw.http.get(gw.link(media.key))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "\r" not in response.headers["content-disposition"] and "set-cookie" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_download_flag_makes_an_attachment(gw: Gateway) -> None:
    media = await put_media(gw, content_type="image/png", filename="photo.png")
    response = await gw.http.get(gw.link(media.key) + "&download=1")
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith('attachment; filename="photo.png"')


# --- bearer reads -----------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_bearer_reads_follow_the_access_rule(gw: Gateway) -> None:
    owner, owner_token = await make_user("owner")
    member, member_token = await make_user("member")
    stranger, stranger_token = await make_user("stranger")
    home = await Residence.create(name="Home")
    await Membership.create(residence=home, user=owner, role=ResidenceRole.OWNER)
    await Membership.create(residence=home, user=member, role=ResidenceRole.VIEWER)
    document = await put_media(gw, owner, residence=home)
    path = f"/media/{document.key}"

    for token in (owner_token, member_token):
        response = await gw.http.get(path, headers={**bearer(token), "Range": "bytes=0-3"})
        assert response.status_code == 206 and response.content == BODY[:4]
        assert response.headers["cache-control"] == "private"
        assert "Authorization" in response.headers["vary"]
    refused = await gw.http.get(path, headers=bearer(stranger_token))
    assert refused.status_code == 403
    _assert_no_object_info(refused)
    assert (await gw.http.get(path, headers=bearer("hd_not-a-token"))).status_code == 401
    assert (await gw.http.get(path, headers={"Authorization": "Basic abc"})).status_code == 403
    missing = await gw.http.get("/media/residences/x/documents/none.pdf", headers=bearer(owner_token))
    assert missing.status_code == 404

    # Avatars are readable by anyone sharing a residence with their owner, and nobody else.
    avatar = await put_media(gw, member, purpose=MediaPurpose.AVATAR, content_type="image/png")
    avatar_path = f"/media/{avatar.key}"
    assert (await gw.http.get(avatar_path, headers=bearer(owner_token))).status_code == 200
    assert (await gw.http.get(avatar_path, headers=bearer(stranger_token))).status_code == 403
    assert (await gw.http.get(avatar_path, headers=bearer(member_token))).status_code == 200


@pytest.fixture
async def gateway_redis() -> AsyncIterator[Any]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(GATEWAY_REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError):
        missing_service(f"Redis at {GATEWAY_REDIS_URL}")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.mark.redis
async def test_bearer_decisions_are_cached_briefly_in_redis(gw: Gateway, gateway_redis: Any) -> None:
    if gw.backend != "local":
        pytest.skip("the cache does not depend on the storage backend")
    gw.use(redis=gateway_redis)
    owner, _ = await make_user("owner")
    member, member_token = await make_user("member")
    home = await Residence.create(name="Home")
    membership = await Membership.create(residence=home, user=member, role=ResidenceRole.EDITOR)
    media = await put_media(gw, owner, residence=home)
    assert (await gw.http.get(f"/media/{media.key}", headers=bearer(member_token))).status_code == 200
    cached = [key async for key in gateway_redis.scan_iter("honeydue:gw:acl:*")]
    assert len(cached) == 1 and 0 < await gateway_redis.ttl(cached[0]) <= 30
    await membership.delete()
    # Within the cache lifetime the earlier decision stands; once it lapses the database decides.
    assert (await gw.http.get(f"/media/{media.key}", headers=bearer(member_token))).status_code == 200
    await gateway_redis.delete(*cached)
    assert (await gw.http.get(f"/media/{media.key}", headers=bearer(member_token))).status_code == 403


async def test_a_dead_redis_degrades_to_the_database(gw: Gateway) -> None:
    if gw.backend != "local":
        pytest.skip("the cache does not depend on the storage backend")
    import redis.asyncio as aioredis

    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0",
                                   socket_connect_timeout=0.2, socket_timeout=0.2)
    gw.use(redis=dead)
    owner, owner_token = await make_user("owner")
    media = await put_media(gw, owner)
    for _ in range(3):
        assert (await gw.http.get(f"/media/{media.key}", headers=bearer(owner_token))).status_code == 200
    await dead.aclose()


# --- upstream behaviour -----------------------------------------------------------------------------


async def test_one_upstream_get_per_request_with_the_range_passed_on(gw: Gateway) -> None:
    if gw.backend != "s3":
        pytest.skip("counts requests seen by the S3 server")
    media = await put_media(gw)
    gw.s3.clear_requests()
    await gw.http.get(gw.link(media.key), headers={"Range": "bytes=100-199"})
    requests = gw.upstream_requests()
    assert [r.method for r in requests] == ["GET"]
    assert requests[0].headers.get("range") == "bytes=100-199"
    assert requests[0].path.endswith(media.key)


async def test_object_missing_from_the_store_is_404(gw: Gateway) -> None:
    media = await put_media(gw, store=False)
    response = await gw.http.get(gw.link(media.key))
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"


async def test_unreachable_store_is_503_with_retry_after(gw: Gateway) -> None:
    if gw.backend != "s3":
        pytest.skip("needs a store that can go away")
    media = await put_media(gw)
    gw.s3.stop()  # the gw fixture restarts it for the next test
    response = await gw.http.get(gw.link(media.key))
    assert response.status_code in (502, 503, 504)
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["cache-control"] == "no-store"
    _assert_no_object_info(response)


async def test_a_missing_bucket_is_a_502_naming_it_in_the_log(
    settings: Settings, tmp_path: Path, s3_server: Any, shared_s3: tuple[dict[str, str], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A mis-cased B2_BUCKET_NAME is a configuration fault: never a (cacheable) 404 "object not found"."""
    s3_server.start()  # a fault test may have stopped it
    env, storage = shared_s3
    key = f"residences/{uuid.uuid4()}/documents/{uuid.uuid4()}.bin"
    await storage.put_bytes(key, BODY, "application/pdf")
    await Media.create(key=key, purpose=MediaPurpose.DOCUMENT_FILE, filename="m.pdf", content_type="application/pdf",
                       size=SIZE, status=MediaStatus.READY, etag=(await storage.head(key)).etag)
    wrong = env["B2_BUCKET_NAME"].lower()
    gw_settings = make_settings(tmp_path / "s3", DATABASE_URL=settings.database_url, **{**env, "B2_BUCKET_NAME": wrong})
    wrong_storage = create_storage(gw_settings)
    await wrong_storage.start()
    try:
        app = create_gateway_app(gw_settings)
        async with attach_test_services(app, gw_settings, storage=wrong_storage), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            link = sign_media_url(gw_settings.signing_keys(), "http://testserver", key, 900)
            response = await http.get(link.removeprefix("http://testserver"))
    finally:
        await wrong_storage.close()
    assert response.status_code == 502 and response.json() == {"error": "store error: bucket not found"}
    assert f"bucket not found: {wrong}" in caplog.text


class _FailingGet:
    """The real store, except that every GET fails with ``error`` before the first byte."""

    def __init__(self, inner: Any, error: Exception) -> None:
        self.inner = inner
        self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> Any:
        raise self.error


async def test_a_store_timeout_is_504_and_a_store_outage_503(gw: Gateway) -> None:
    if gw.backend != "local":
        pytest.skip("the mapping does not depend on the storage backend")
    media = await put_media(gw)
    for error, status in [(StorageTimeout("read timed out"), 504), (StorageUnavailable("refused"), 503)]:
        gw.use(storage=_FailingGet(gw.storage, error))
        response = await gw.http.get(gw.link(media.key))
        assert response.status_code == status, (error, response.text)
        assert int(response.headers["retry-after"]) > 0


async def test_row_and_store_disagreeing_on_size_is_502(gw: Gateway) -> None:
    media = await put_media(gw)
    await Media.filter(id=media.id).update(size=SIZE + 10)
    response = await gw.http.get(gw.link(media.key))
    assert response.status_code == 502


# --- CORS -------------------------------------------------------------------------------------------


async def test_preflight(gw: Gateway) -> None:
    response = await gw.http.options("/media/a/b.png", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range, authorization"})
    assert response.status_code == 204
    assert "content-length" not in response.headers  # RFC 9110 section 8.6: never on a 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "Range" in response.headers["access-control-allow-headers"]
    upload = await gw.http.options("/media/upload/a/b.png", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT"})
    assert "PUT" in upload.headers["access-control-allow-methods"]


async def test_configured_origins_are_honoured_exactly(gw: Gateway) -> None:
    gw.use(settings=gw.settings.model_copy(update={"cors_origins": ["https://app.example"]}))
    media = await put_media(gw)
    allowed = await gw.http.get(gw.link(media.key), headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "Origin" in allowed.headers["vary"]
    other = await gw.http.get(gw.link(media.key), headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


ORIGIN = "https://app.example"


def _assert_readable_cross_origin_error(response: httpx.Response, status: int) -> None:
    """DESIGN.md's gateway contract: nosniff and CORS on every GET/HEAD answer, errors included."""
    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Content-Range" in response.headers["access-control-expose-headers"]


async def test_errors_before_access_is_known_carry_cors_and_nosniff_only(gw: Gateway) -> None:
    gw.use(settings=gw.settings.model_copy(update={"cors_origins": [ORIGIN]}))
    media = await put_media(gw)
    path = gw.link(media.key).split("?")[0]
    for method in ("GET", "HEAD"):
        for url, headers, status in [
            (path, {}, 403),
            (path, {"Authorization": "Bearer nope"}, 401),
            (gw.link("residences/x/documents/missing.pdf"), {}, 404),
        ]:
            response = await gw.http.request(method, url, headers={"Origin": ORIGIN, "Range": "bytes=0-9",
                                                                   **headers})
            _assert_readable_cross_origin_error(response, status)
            _assert_no_object_info(response)


async def test_range_and_precondition_errors_carry_accept_ranges(gw: Gateway) -> None:
    gw.use(settings=gw.settings.model_copy(update={"cors_origins": [ORIGIN]}))
    media = await put_media(gw)
    for headers, status in [({"Range": "bytes=20000-"}, 416), ({"If-Match": '"not-the-etag"'}, 412)]:
        response = await gw.http.get(gw.link(media.key), headers={"Origin": ORIGIN, **headers})
        _assert_readable_cross_origin_error(response, status)
        assert response.headers["accept-ranges"] == "bytes"
        assert "etag" not in response.headers and "content-disposition" not in response.headers
    head = await gw.http.head(gw.link(media.key), headers={"Origin": ORIGIN, "Range": "bytes=20000-"})
    _assert_readable_cross_origin_error(head, 416)
    assert head.headers["accept-ranges"] == "bytes" and head.headers["content-range"] == f"bytes */{SIZE}"


async def test_store_failures_carry_cors_and_nosniff(gw: Gateway) -> None:
    gw.use(settings=gw.settings.model_copy(update={"cors_origins": [ORIGIN]}))
    unstored = await put_media(gw, store=False)
    wrong_size = await put_media(gw)
    await Media.filter(id=wrong_size.id).update(size=SIZE + 10)
    for media, status in [(unstored, 404), (wrong_size, 502)]:
        response = await gw.http.get(gw.link(media.key), headers={"Origin": ORIGIN})
        _assert_readable_cross_origin_error(response, status)
        _assert_no_object_info(response)


class _DatabaseDown(RecentMedia):
    async def _load(self, key: str) -> Media | None:
        raise OperationalError("connection refused")


async def test_an_internal_failure_is_a_500_a_cross_origin_page_can_read(gw: Gateway) -> None:
    gw.use(settings=gw.settings.model_copy(update={"cors_origins": [ORIGIN]}), recent_media=_DatabaseDown())
    media = await put_media(gw)
    for method in ("GET", "HEAD"):
        response = await gw.http.request(method, gw.link(media.key), headers={"Origin": ORIGIN})
        _assert_readable_cross_origin_error(response, 500)
        _assert_no_object_info(response)


# --- local uploads ----------------------------------------------------------------------------------


def upload_url(gw: Gateway, key: str, content_type: str, length: int, expires_at: int | None = None) -> str:
    expires_at = expires_at or int(time.time()) + 900
    sig = sign_upload(gw.settings.signing_keys(), key, content_type, length, expires_at)
    return f"/media/upload/{key}?ct={content_type}&len={length}&exp={expires_at}&sig={sig}"


async def test_local_upload_through_the_gateway(gw: Gateway) -> None:
    key = f"users/{uuid.uuid4()}/profile/{uuid.uuid4()}.png"
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 5000
    url = upload_url(gw, key, "image/png", len(data))
    response = await gw.http.put(url, content=data, headers={"Content-Type": "image/png"})
    if gw.backend == "s3":
        assert response.status_code == 404  # uploads go straight to the bucket there
        return
    assert response.status_code == 200, response.text
    info = await gw.storage.head(key)
    assert info.size == len(data) and response.headers["etag"] == f'"{info.etag}"'
    assert await gw.storage.read_prefix(key, 8) == data[:8]


async def test_local_upload_violations(gw: Gateway) -> None:
    if gw.backend != "local":
        pytest.skip("the gateway takes uploads only for the local backend")
    key = f"users/{uuid.uuid4()}/profile/{uuid.uuid4()}.png"
    data = b"x" * 100
    url = upload_url(gw, key, "image/png", len(data))
    png = {"Content-Type": "image/png"}
    cases = [
        (url.replace("sig=", "sig=A"), data, png, 403),
        (url.replace("len=100", "len=99"), data[:99], png, 403),
        (upload_url(gw, key, "image/png", 100, int(time.time()) - 1), data, png, 403),
        (url, data, {"Content-Type": "text/html"}, 400),
        (url, data + b"yy", png, 413),
        (url, data[:50], png, 400),
        (upload_url(gw, key, "image/png", gw.settings.storage_max_file_size + 1), data, png, 413),
    ]
    for case_url, body, headers, status in cases:
        response = await gw.http.put(case_url, content=body, headers=headers)
        assert response.status_code == status, (case_url, len(body), headers, response.text)
        assert response.headers["cache-control"] == "no-store"
    with pytest.raises(Exception):  # noqa: B017 - nothing was stored by any refused upload
        await gw.storage.head(key)


async def test_local_upload_too_large_is_refused_unread(gw: Gateway) -> None:
    if gw.backend != "local":
        pytest.skip("the gateway takes uploads only for the local backend")
    key = f"users/{uuid.uuid4()}/profile/{uuid.uuid4()}.png"
    taken = 0

    async def fifty_mb() -> Any:
        nonlocal taken
        while taken < 50 * 1024 * 1024:
            taken += 65536
            yield b"x" * 65536

    headers = {"Content-Type": "image/png", "Content-Length": str(50 * 1024 * 1024)}
    response = await gw.http.put(upload_url(gw, key, "image/png", 100), content=fifty_mb(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")
    assert taken <= 65536  # refused on the declared length: the body was not read
    chunked = await gw.http.put(upload_url(gw, key, "image/png", 100), content=fifty_mb(),
                                headers={"Content-Type": "image/png"})
    assert (chunked.status_code, chunked.json()["code"]) == (411, "BAD_REQUEST")


# --- the gateway process ----------------------------------------------------------------------------


async def test_health_and_readiness(gw: Gateway) -> None:
    assert (await gw.http.get("/healthz")).status_code == 200
    ready = await gw.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    import redis.asyncio as aioredis

    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0",
                                   socket_connect_timeout=0.2, socket_timeout=0.2)
    gw.use(redis=dead)
    # Redis only caches the gateway's access checks: an unreachable one leaves it ready.
    still = await gw.http.get("/readyz")
    assert still.status_code == 200, still.text
    await dead.aclose()


# --- client disconnects -----------------------------------------------------------------------------


@dataclass
class Served:
    port: int
    stop: Any  # an async callable: stop serving and wait for the server to end


@pytest.fixture(params=["granian", "uvicorn"])
def http_server(request: pytest.FixtureRequest) -> str:
    """The HTTP server a real-socket test runs the app in: granian (production's, GATEWAY_SERVER) and uvicorn."""
    return request.param


async def _serve(app: Any, server_name: str) -> Served:
    port = free_port()
    if server_name == "uvicorn":
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)

        async def stop_uvicorn() -> None:
            server.should_exit = True
            await task

        return Served(port, stop_uvicorn)
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server

    embedded = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGINL, http=HTTPModes.http1,
                      websockets=False, log_enabled=False)
    task = asyncio.create_task(embedded.serve())
    for _ in range(500):  # until it accepts connections (granian has no "started" flag)
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        break

    async def stop_granian() -> None:
        embedded.stop()
        await task

    return Served(port, stop_granian)


async def _read_a_little_then_vanish(port: int, path: str, byte_range: str | None = None) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server stalls on us
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    ranged = f"Range: bytes={byte_range}\r\n" if byte_range else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: gw\r\n{ranged}\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206" if byte_range else b"HTTP/1.1 200"), head
    await reader.readexactly(16 * 1024)
    writer.transport.abort()  # gone mid-body, like a closed browser tab


async def _settle(measure: Any, limit: int) -> int:
    """Wait (bounded) for in-flight cleanups; returns the last measurement."""
    value = measure()
    for _ in range(200):
        if value <= limit:
            return value
        await asyncio.sleep(0.05)
        value = measure()
    return value


class ClosingRecorder:
    """Delegates to the real storage and counts upstream bodies opened and explicitly closed.

    CPython's garbage collector eventually closes an abandoned body too, which
    would hide a missing ``finally``; the explicit count cannot be fooled.
    """

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.opened = 0
        self.closed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> Any:
        stream = await self.storage.open(key, byte_range)
        self.opened += 1

        async def count() -> None:
            self.closed += 1

        stream._closers.append(count)
        return stream


async def test_client_disconnects_release_the_upstream(gw: Gateway, http_server: str) -> None:
    import psutil

    big = os.urandom(2 * 1024 * 1024)  # a range of all but its first byte is longer than SMALL_RANGE_BYTES
    media = await put_media(gw, body=big)
    recorder = ClosingRecorder(gw.storage)
    gw.use(storage=recorder)
    served = await _serve(gw.app, http_server)
    port = served.port
    # granian sends a local file whole by itself (pathsend: no storage.open to count); a range is streamed.
    byte_range = "1-" if gw.backend == "local" and http_server == "granian" else None
    try:
        process = psutil.Process()
        measure = (lambda: gw.s3.open_connections) if gw.s3 else process.num_fds
        for _ in range(5):  # warm up pools and lazily opened files
            await _read_a_little_then_vanish(port, gw.link(media.key), byte_range)
        baseline = await _settle(measure, 10**9)
        await asyncio.sleep(0.2)
        baseline = measure()
        for _ in range(200):
            await _read_a_little_then_vanish(port, gw.link(media.key), byte_range)
        after = await _settle(measure, baseline + 2)
        assert after <= baseline + 2, (baseline, after)
        assert recorder.opened == 205 and await _settle(lambda: 205 - recorder.closed, 0) == 0
        if byte_range:  # and the files granian sends by itself are closed too when the client vanishes
            for _ in range(100):
                await _read_a_little_then_vanish(port, gw.link(media.key))
            assert await _settle(measure, baseline + 2) <= baseline + 2
            assert recorder.opened == 205
        # The server still answers in full afterwards (no exhausted pool).
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get(gw.link(media.key), headers={"Range": "bytes=0-1023"})
            assert response.status_code == 206 and response.content == big[:1024]
    finally:
        await served.stop()


async def test_deleted_media_stops_being_served(gw: Gateway) -> None:
    """Rows are remembered for a few seconds; a deleted object still ends in 404, and is forgotten."""
    media = await put_media(gw)
    assert (await gw.http.get(gw.link(media.key))).status_code == 200
    await gw.storage.delete(media.key)
    await media.delete()
    assert (await gw.http.get(gw.link(media.key))).status_code == 404
    assert (await gw.http.head(gw.link(media.key))).status_code == 404


async def test_store_failing_mid_stream_aborts_the_connection(gw: Gateway, http_server: str) -> None:
    """After the first byte a status can no longer change: the client must see a cut, not a short 200."""
    if gw.backend != "s3":
        pytest.skip("needs a store that can go away mid-body")
    # Larger than every buffer between store and gateway (socket buffers autotune to several MB).
    big = os.urandom(32 * 1024 * 1024)
    media = await put_media(gw, body=big)
    served = await _serve(gw.app, http_server)
    port = served.port
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(f"GET {gw.link(media.key)} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and f"content-length: {len(big)}".encode() in head.lower()
        received = len(await reader.readexactly(64 * 1024))
        gw.s3.stop()  # the gw fixture restarts it for the next test
        async with asyncio.timeout(30):  # a guard against a hang, not a speed assertion
            while chunk := await reader.read(256 * 1024):
                received += len(chunk)
        writer.close()
        assert received < len(big)
    finally:
        await served.stop()


async def test_concurrent_misses_share_one_lookup(settings, monkeypatch) -> None:
    """A burst of requests for one key after the cache entry expired runs one database query, not one each."""
    import asyncio

    from gateway import media_rows
    from honeydue.models import Media, MediaPurpose, MediaStatus

    row = await Media.create(key="users/x/profile/a.png", purpose=MediaPurpose.AVATAR, filename="a.png",
                             content_type="image/png", size=1, status=MediaStatus.READY)
    calls = 0
    real = media_rows.Media.get_or_none

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(media_rows.Media, "get_or_none", counting)
    cache = media_rows.RecentMedia()
    rows = await asyncio.gather(*(cache.get(row.key) for _ in range(32)))
    assert calls == 1 and {r.id for r in rows} == {row.id}
    assert (await cache.get("users/x/profile/missing.png")) is None and calls == 2


# --- the local backend's files sent by the server (ASGI pathsend / zerocopysend) ----------------------


def offering(app: Any, extensions: tuple[str, ...], seen: list[str]) -> Any:
    """``app`` behind a server offering ``extensions``: it sends the file's bytes itself, as granian does."""

    async def server(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        scope = {**scope, "extensions": {**(scope.get("extensions") or {}), **{name: {} for name in extensions}}}

        async def server_send(message: Any) -> None:
            seen.append(message["type"])
            if message["type"] == "http.response.pathsend":
                message = {"type": "http.response.body", "body": Path(message["path"]).read_bytes()}  # noqa: ASYNC240
            elif message["type"] == "http.response.zerocopysend":
                data = os.pread(message["file"].fileno(), message["count"], message["offset"])
                message = {"type": "http.response.body", "body": data, "more_body": message["more_body"]}
            await send(message)

        await app(scope, receive, server_send)

    return server


@pytest.mark.parametrize("extensions", [("http.response.pathsend",),
                                        ("http.response.zerocopysend", "http.response.pathsend")])
async def test_local_files_are_sent_by_the_server_when_it_offers_to(gw: Gateway, extensions: tuple[str, ...]) -> None:
    if gw.backend != "local":
        pytest.skip("only the local backend has files to hand over")
    media = await put_media(gw)
    seen: list[str] = []
    transport = httpx.ASGITransport(app=offering(gw.app, extensions, seen))
    zerocopy = "http.response.zerocopysend" in extensions
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        whole = await http.get(gw.link(media.key))
        assert (whole.status_code, whole.content) == (200, BODY)
        assert whole.headers["content-length"] == str(SIZE) and whole.headers["etag"]
        assert seen[-1] == ("http.response.zerocopysend" if zerocopy else "http.response.pathsend")

        seen.clear()
        part = await http.get(gw.link(media.key), headers={"Range": "bytes=100-4099"})
        assert (part.status_code, part.content) == (206, BODY[100:4100])
        assert part.headers["content-range"] == f"bytes 100-4099/{SIZE}"
        # pathsend sends whole files only: a range is streamed as before.
        assert ("http.response.zerocopysend" in seen) == zerocopy and "http.response.pathsend" not in seen

        seen.clear()
        parts = await http.get(gw.link(media.key), headers={"Range": "bytes=0-9,5000-5009"})
        assert parts.status_code == 206 and parts.headers["content-type"].startswith("multipart/byteranges")
        assert not {"http.response.zerocopysend", "http.response.pathsend"} & set(seen)

        assert (await http.head(gw.link(media.key))).content == b""

        # A file gone or of another size than its row: the usual answers (404, 502), never a broken send.
        missing = await put_media(gw, store=False)
        short = await put_media(gw)
        await gw.storage.put_bytes(short.key, BODY[:100], "application/pdf")
        for byte_range in (None, "bytes=0-9"):
            ranged = {"Range": byte_range} if byte_range else {}
            assert (await http.get(gw.link(missing.key), headers=ranged)).status_code == 404
            gw.use()  # forget the rows: each request asks again
            assert (await http.get(gw.link(short.key), headers=ranged)).status_code == 502
            gw.use()


async def test_short_local_ranges_are_read_at_once(gw: Gateway) -> None:
    """Without zerocopysend, a local range of up to 1 MiB is one read and one send; a longer one streams."""
    if gw.backend != "local":
        pytest.skip("only the local backend reads files")
    from gateway.file_send import SMALL_RANGE_BYTES

    body = os.urandom(SMALL_RANGE_BYTES + 4096)
    media = await put_media(gw, body=body)
    recorder = ClosingRecorder(gw.storage)
    gw.use(storage=recorder)
    for first, last in ((0, 0), (5, SMALL_RANGE_BYTES + 5), (100, SMALL_RANGE_BYTES + 99)):
        response = await gw.http.get(gw.link(media.key), headers={"Range": f"bytes={first}-{last}"})
        assert (response.status_code, response.content) == (206, body[first : last + 1])
        assert response.headers["content-range"] == f"bytes {first}-{last}/{len(body)}"
    assert recorder.opened == 1  # only the range longer than SMALL_RANGE_BYTES went through storage.open
