"""Range and precondition fuzzing of the gateway, through real ``honeydue serve`` processes over HTTP.

hypothesis draws ``Range``, ``If-Range``, ``If-None-Match`` and ``If-Modified-Since`` values, from
well-formed (offsets around the object's edges, the real validators, multiple ranges) to junk, for GET and
HEAD of one uploaded object. Whatever the headers, the answer must be self-consistent and true to the bytes:
no 5xx; a body exactly ``Content-Length`` long; 200 the whole object; 206 a ``Content-Range`` (or each
``multipart/byteranges`` part's) naming exactly the bytes sent; 416 ``bytes */size``; 304 empty.

The local backend (uploads through the gateway) gets most examples; the S3 backend (the signature-checking
test store) a few, since there the gateway forwards the range upstream and checks what comes back.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ServeProcess, start_serve, stop_serve
from tests.plugins.s3 import s3_env_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = b"\x89PNG\r\n\x1a\n" + os.urandom(992)
SIZE = len(DATA)
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass
class Target:
    """One READY object behind a signed link, with the validators a plain GET reports."""

    url: str
    etag: str
    last_modified: datetime


def gql(http: httpx.Client, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload


def upload_object(server: ServeProcess) -> Target:
    """register -> requestUpload -> PUT -> finalizeUpload, like a client; returns the media's link."""
    with httpx.Client(base_url=server.base_url, timeout=20) as http:
        token = gql(http, "mutation($i: RegisterInput!) { register(input: $i) { token } }",
                    {"i": {"email": f"ranges-{uuid.uuid4().hex[:8]}@example.com",
                           "password": "correct horse battery", "displayName": "R"}})["token"]
        requested = gql(http, "mutation($i: RequestUploadInput!) { requestUpload(input: $i) { media { id } "
                              "upload { url headers { name value } } userErrors { code } } }",
                        {"i": {"purpose": "AVATAR", "filename": "r.png", "contentType": "image/png", "size": SIZE}},
                        token)
        upload = requested["upload"]
        put = httpx.put(upload["url"], content=DATA, headers={h["name"]: h["value"] for h in upload["headers"]})
        assert put.status_code == 200, put.text
        media = gql(http, "mutation($id: ID!) { finalizeUpload(input: {mediaId: $id}) { media { status url } } }",
                    {"id": requested["media"]["id"]}, token)["media"]
        assert media["status"] == "READY"
        plain = httpx.get(media["url"])
        assert plain.status_code == 200 and plain.content == DATA
        return Target(media["url"], plain.headers["etag"], parsedate_to_datetime(plain.headers["last-modified"]))


@pytest.fixture(scope="module")
def local_target(honeydue_serve: ServeProcess) -> Target:
    return upload_object(honeydue_serve)


@pytest.fixture(scope="module")
def s3_target(s3_server: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    s3_server.start()  # type: ignore[attr-defined]
    bucket = s3_server.make_bucket(f"honeyDue-ranges-{uuid.uuid4().hex[:8]}")  # type: ignore[attr-defined]
    server = start_serve(tmp_path_factory.mktemp("ranges-s3"), s3_env_for(s3_server, bucket))  # type: ignore[arg-type]
    try:
        yield upload_object(server)
    finally:
        stop_serve(server)


# --- strategies ---------------------------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
offset = st.one_of(st.integers(0, 8), st.integers(SIZE - 8, SIZE + 8), st.integers(0, SIZE * 2),
                   st.just(2**64), st.integers(-3, -1))
spec = st.one_of(
    st.tuples(offset, offset).map(lambda p: f"{p[0]}-{p[1]}"),
    offset.map(lambda a: f"{a}-"),
    offset.map(lambda n: f"-{n}"),
    printable,
)
range_header = st.one_of(
    st.tuples(st.sampled_from(["bytes=", "bytes=", "bytes=", "Bytes=", "bytes =", "items=", ""]),
              st.lists(spec, min_size=1, max_size=6), st.sampled_from([",", ", ", " , ", ",,"])
              ).map(lambda t: t[0] + t[2].join(t[1])),
    printable,
)


def dates(target: Target) -> st.SearchStrategy[str]:
    moments = st.sampled_from([target.last_modified, target.last_modified - timedelta(seconds=1),
                               target.last_modified + timedelta(days=1), datetime(1970, 1, 1, tzinfo=UTC),
                               datetime(2999, 1, 1, tzinfo=UTC)])
    return st.one_of(moments.map(lambda d: format_datetime(d, usegmt=True)), printable)


def etags(target: Target) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([target.etag, "W/" + target.etag, '"other"', "*", f'"x", {target.etag}',
                                      target.etag.strip('"')]), printable)


def request_headers(target: Target) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={
        "Range": range_header, "If-Range": st.one_of(etags(target), dates(target)),
        "If-None-Match": etags(target), "If-Modified-Since": dates(target),
    })


# --- the property -------------------------------------------------------------------------------------------


def part_matches(content_range: str, body: bytes) -> None:
    match = CONTENT_RANGE.fullmatch(content_range)
    assert match, content_range
    first, last, size = map(int, match.groups())
    assert size == SIZE and 0 <= first <= last < SIZE, content_range
    assert body == DATA[first:last + 1], content_range


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    boundary = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    assert boundary, content_type
    delimiter = b"\r\n--" + boundary.group(1).encode()
    segments = (b"\r\n" + body).split(delimiter)
    assert segments[0] == b"" and segments[-1] in (b"--", b"--\r\n"), body[:200]
    parts = []
    for segment in segments[1:-1]:
        head, sep, content = segment.partition(b"\r\n\r\n")
        assert sep, segment[:200]
        headers = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        parts.append((headers["Content-Range"], content))
    return parts


def check_response(method: str, headers: dict[str, str], response: httpx.Response) -> None:
    status, body = response.status_code, response.content
    assert status < 500, (headers, status, response.text)
    assert status in (200, 206, 304, 412, 416), (headers, status)
    if method == "HEAD" or status == 304:
        assert body == b""
    else:
        assert len(body) == int(response.headers["content-length"]), headers
    length = int(response.headers.get("content-length", "0"))
    if status == 200:
        assert length == SIZE and (method == "HEAD" or body == DATA)
    elif status == 416:
        assert response.headers["content-range"] == f"bytes */{SIZE}"
    elif status == 304:
        assert "If-None-Match" in headers or "If-Modified-Since" in headers
    elif status == 206 and response.headers["content-type"].startswith("multipart/byteranges"):
        assert "content-range" not in response.headers
        if method == "GET":
            parts = multipart_parts(response.headers["content-type"], body)
            assert len(parts) >= 2
            for content_range, content in parts:
                part_matches(content_range, content)
    elif status == 206:
        content_range = response.headers["content-range"]
        first, last, _ = map(int, CONTENT_RANGE.fullmatch(content_range).groups())  # type: ignore[union-attr]
        assert length == last - first + 1
        if method == "GET":
            part_matches(content_range, body)


def fuzz(target: Target, examples: int) -> None:
    with httpx.Client(timeout=20) as http:

        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(method=st.sampled_from(["GET", "GET", "HEAD"]), headers=request_headers(target))
        def run(method: str, headers: dict[str, str]) -> None:
            check_response(method, headers, http.request(method, target.url, headers=headers))

        run()


def test_ranges_and_preconditions_local(local_target: Target) -> None:
    fuzz(local_target, 300)


def test_ranges_and_preconditions_s3(s3_target: Target) -> None:
    fuzz(s3_target, 60)


def test_multipart_parser_refuses_a_wrong_part() -> None:
    """The checker itself can fail: a part whose bytes do not match its Content-Range is caught."""
    body = (b"--B\r\nContent-Type: image/png\r\nContent-Range: bytes 0-1/1000\r\n\r\n" + DATA[1:3] + b"\r\n--B--\r\n")
    ((content_range, content),) = multipart_parts("multipart/byteranges; boundary=B", body)
    with pytest.raises(AssertionError):
        part_matches(content_range, content)
