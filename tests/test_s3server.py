"""The test S3 server refuses what a real store refuses (plain moto accepts all of it)."""

from __future__ import annotations

import hashlib
from base64 import b64encode
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.s3server import S3TestServer


@pytest.fixture
def bucket(s3_server: S3TestServer) -> str:
    s3_server.start()
    return s3_server.make_bucket("honeyDueProd")


def _signed(server: S3TestServer, method: str, path: str, body: bytes = b"", secret: str | None = None,
            access_key: str | None = None, headers: dict[str, str] | None = None) -> AWSRequest:
    """A header-signed request made with botocore, as a client library would make it."""
    request = AWSRequest(method=method, url=server.endpoint_url + path, data=body, headers=headers or {})
    credentials = Credentials(access_key or server.access_key, secret or server.secret_key)
    S3SigV4Auth(credentials, "s3", server.region).add_auth(request)
    return request


def _send(request: AWSRequest, body: bytes | None = None) -> httpx.Response:
    prepared = request.prepare()
    return httpx.request(prepared.method, prepared.url, headers=dict(prepared.headers),
                         content=prepared.body if body is None else body)


def test_a_correctly_signed_request_passes(s3_server: S3TestServer, bucket: str) -> None:
    resp = _send(_signed(s3_server, "PUT", f"/{bucket}/a%20b/c.txt", b"hello"))
    assert resp.status_code == 200, resp.text
    got = _send(_signed(s3_server, "GET", f"/{bucket}/a%20b/c.txt"))
    assert (got.status_code, got.content) == (200, b"hello")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"secret": "not-the-secret"}, 403, "SignatureDoesNotMatch"),
        ({"access_key": "SOMEONEELSE"}, 403, "InvalidAccessKeyId"),
    ],
)
def test_wrong_credentials_are_refused(s3_server: S3TestServer, bucket: str, kwargs: dict, status: int,
                                       code: str) -> None:
    resp = _send(_signed(s3_server, "GET", f"/{bucket}/a%20b/c.txt", **kwargs))
    assert resp.status_code == status
    assert f"<Code>{code}</Code>" in resp.text


def test_anonymous_requests_are_refused(s3_server: S3TestServer, bucket: str) -> None:
    resp = httpx.get(f"{s3_server.endpoint_url}/{bucket}/a%20b/c.txt")
    assert resp.status_code == 403 and "<Code>AccessDenied</Code>" in resp.text


def test_a_body_other_than_the_signed_one_is_refused(s3_server: S3TestServer, bucket: str) -> None:
    resp = _send(_signed(s3_server, "PUT", f"/{bucket}/x.txt", b"hello"), body=b"jello")
    assert resp.status_code == 400 and "XAmzContentSHA256Mismatch" in resp.text


def test_a_signed_header_changed_in_flight_is_refused(s3_server: S3TestServer, bucket: str) -> None:
    request = _signed(s3_server, "PUT", f"/{bucket}/x.txt", b"hello", headers={"Content-Type": "text/plain"})
    request.headers.replace_header("Content-Type", "text/html")
    resp = _send(request)
    assert resp.status_code == 403 and "SignatureDoesNotMatch" in resp.text


def test_a_stale_header_signed_request_is_refused(s3_server: S3TestServer, bucket: str) -> None:
    request = _signed(s3_server, "GET", f"/{bucket}/x.txt")
    with s3_server.shifted_clock(16 * 60):
        resp = _send(request)
    assert resp.status_code == 403 and "RequestTimeTooSkewed" in resp.text


def test_presigned_links_bind_everything_they_sign(s3_server: S3TestServer, bucket: str) -> None:
    client = s3_server.boto3_client()
    body = b"0123456789"
    md5 = b64encode(hashlib.md5(body).digest()).decode()
    url = client.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "p.bin", "ContentType": "image/png", "ContentLength": 10,
                "ContentMD5": md5},
        ExpiresIn=60,
    )
    signed = parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0].split(";")
    assert {"content-type", "content-length", "content-md5", "host"} <= set(signed)
    good = {"Content-Type": "image/png", "Content-MD5": md5}
    other_md5 = b64encode(hashlib.md5(b"9876543210").digest()).decode()
    assert httpx.put(url, content=body, headers={**good, "Content-MD5": other_md5}).status_code == 403
    # Same signed headers, other bytes: the store's digest check refuses it.
    other_bytes = httpx.put(url, content=b"9876543210", headers=good)
    assert other_bytes.status_code == 400 and "<Code>BadDigest</Code>" in other_bytes.text
    assert httpx.put(url, content=body, headers=good).status_code == 200


def test_presigned_links_expire_and_cannot_outlive_a_week(s3_server: S3TestServer, bucket: str) -> None:
    client = s3_server.boto3_client()
    client.put_object(Bucket=bucket, Key="g.txt", Body=b"hi")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "g.txt"}, ExpiresIn=60)
    assert httpx.get(url).status_code == 200
    with s3_server.shifted_clock(50):
        assert httpx.get(url).status_code == 200
    with s3_server.shifted_clock(62):
        expired = httpx.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    assert "<X-Amz-Expires>60</X-Amz-Expires>" in expired.text
    too_long = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "g.txt"},
                                             ExpiresIn=7 * 24 * 3600 + 1)
    assert httpx.get(too_long).status_code == 400


def test_checksum_headers_are_refused_like_b2(s3_server: S3TestServer, bucket: str) -> None:
    """botocore >= 1.36's default config sends CRC checksums; B2 (and this server) refuse them."""
    default_client = boto3.client(
        "s3", endpoint_url=s3_server.endpoint_url, region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key, aws_secret_access_key=s3_server.secret_key,
    )
    with pytest.raises(ClientError) as info:
        default_client.put_object(Bucket=bucket, Key="c.txt", Body=b"abc")
    assert info.value.response["Error"]["Code"] == "InvalidArgument"
    s3_server.boto3_client().put_object(Bucket=bucket, Key="c.txt", Body=b"abc")  # when_required: accepted


def test_requests_are_recorded_with_headers_and_status(s3_server: S3TestServer, bucket: str) -> None:
    s3_server.clear_requests()
    httpx.get(f"{s3_server.endpoint_url}/{bucket}/r.txt?x=1", headers={"X-Probe": "yes"})
    (record,) = list(s3_server.requests)
    assert (record.method, record.path, record.query, record.status) == ("GET", f"/{bucket}/r.txt", "x=1", 403)
    assert record.headers["x-probe"] == "yes"


def test_stop_and_start_on_the_same_port(s3_server: S3TestServer, bucket: str) -> None:
    client = s3_server.boto3_client()
    client.put_object(Bucket=bucket, Key="keep.txt", Body=b"kept")
    port = s3_server.port
    s3_server.stop()
    try:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{s3_server.endpoint_url}/{bucket}/keep.txt")
    finally:
        s3_server.start()
    assert s3_server.port == port
    assert client.get_object(Bucket=bucket, Key="keep.txt")["Body"].read() == b"kept"
