"""An S3 server for tests that checks SigV4 like a real store.

moto answers the S3 API faithfully but, in server mode, accepts any signature:
a forged or expired presigned link, or a PUT with a Content-Type other than the
one signed, all succeed. Tests of the upload lifecycle must see those fail, so
``SigV4CheckingApp`` wraps moto's WSGI application and recomputes every
request's signature with botocore's own signer (header-signed and presigned),
refusing it the way S3/B2 do (403 with S3's XML error body). It also behaves
like Backblaze B2 where our client config matters: flexible-checksum headers
(botocore >= 1.36 defaults) are refused with B2's 400.

The server records what it received (headers, path, status) and counts open
TCP connections, so tests can assert "no checksum headers", "path-style URLs"
and "no leaked upstream connections".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
MAX_CLOCK_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
CHECKSUM_HEADER_PREFIXES = ("x-amz-checksum-", "x-amz-sdk-checksum-algorithm")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class S3Refusal(Exception):
    """A request the store refuses, rendered as S3's XML error document."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def xml(self) -> bytes:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{fields}"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        ).encode()


_REASONS = {400: "Bad Request", 403: "Forbidden", 501: "Not Implemented"}


def _signature_mismatch() -> S3Refusal:
    return S3Refusal(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _parse_timestamp(value: str) -> float:
    try:
        return datetime.strptime(value, SIGV4_TIMESTAMP).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise S3Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Date must be in ISO8601 format") from None


@dataclass
class RecordedRequest:
    """One request as the store saw it (header names lowercased)."""

    method: str
    path: str  # raw, still percent-encoded, without the query
    query: str
    headers: dict[str, str]
    status: int | None = None


class SigV4Verifier:
    """Recomputes a request's SigV4 signature with botocore's signer and compares it."""

    def __init__(
        self, access_key: str, secret_key: str, region: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.access_key = access_key
        self.region = region
        self._credentials = Credentials(access_key, secret_key)
        self._clock = clock

    def verify(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> None:
        """Raise ``S3Refusal`` unless the request is signed by our key and still valid."""
        params = parse_qsl(query, keep_blank_values=True)
        if "authorization" in headers:
            self._verify_header_signed(method, raw_path, params, headers, body)
        elif any(name == "X-Amz-Signature" for name, _ in params):
            self._verify_presigned(method, raw_path, params, headers)
        else:
            raise S3Refusal(403, "AccessDenied", "Access Denied")

    def _verify_header_signed(
        self, method: str, raw_path: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> None:
        auth = headers["authorization"]
        algorithm, _, rest = auth.partition(" ")
        if algorithm != "AWS4-HMAC-SHA256":
            raise S3Refusal(400, "InvalidArgument", "Unsupported Authorization Type")
        parts = dict(item.strip().split("=", 1) for item in rest.split(",") if "=" in item)
        try:
            credential, signed, signature = parts["Credential"], parts["SignedHeaders"], parts["Signature"]
        except KeyError:
            raise S3Refusal(400, "AuthorizationHeaderMalformed", "The authorization header is malformed") from None
        amz_date = headers.get("x-amz-date", "")
        skew = abs(self._clock() - _parse_timestamp(amz_date))
        if skew > MAX_CLOCK_SKEW_SECONDS:
            raise S3Refusal(
                403, "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
        content_sha = headers.get("x-amz-content-sha256")
        if content_sha is None:
            raise S3Refusal(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if content_sha.startswith("STREAMING-"):
            # aws-chunked bodies are what botocore's default checksums produce; B2 refuses them.
            raise S3Refusal(501, "NotImplemented", "aws-chunked streaming payloads are not supported")
        if content_sha != UNSIGNED_PAYLOAD and content_sha != hashlib.sha256(body).hexdigest():
            raise S3Refusal(
                400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        signer = botocore.auth.S3SigV4Auth(self._credentials, "s3", self._scope_region(credential, amz_date))
        expected = self._signature(signer, method, raw_path, params, headers, signed, amz_date)
        if not hmac.compare_digest(expected, signature):
            raise _signature_mismatch()

    def _verify_presigned(
        self, method: str, raw_path: str, params: list[tuple[str, str]], headers: dict[str, str]
    ) -> None:
        query = dict(params)
        if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise S3Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256")
        try:
            credential = query["X-Amz-Credential"]
            amz_date = query["X-Amz-Date"]
            expires = int(query["X-Amz-Expires"])
            signed = query["X-Amz-SignedHeaders"]
            signature = query["X-Amz-Signature"]
        except (KeyError, ValueError):
            raise S3Refusal(
                400, "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            ) from None
        if not 1 <= expires <= MAX_PRESIGN_SECONDS:
            raise S3Refusal(
                400, "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            )
        signed_at = _parse_timestamp(amz_date)
        now = self._clock()
        if now > signed_at + expires:
            raise S3Refusal(
                403, "AccessDenied", "Request has expired",
                **{
                    "X-Amz-Expires": str(expires),
                    "Expires": _iso(signed_at + expires),
                    "ServerTime": _iso(now),
                },
            )
        signer = botocore.auth.S3SigV4QueryAuth(
            self._credentials, "s3", self._scope_region(credential, amz_date), expires=expires
        )
        unsigned_params = [(k, v) for k, v in params if k != "X-Amz-Signature"]
        expected = self._signature(signer, method, raw_path, unsigned_params, headers, signed, amz_date)
        if not hmac.compare_digest(expected, signature):
            raise _signature_mismatch()

    def _scope_region(self, credential: str, amz_date: str) -> str:
        try:
            access_key, date, region, service, terminator = credential.split("/")
        except ValueError:
            raise S3Refusal(400, "AuthorizationHeaderMalformed", "The Credential is mal-formed") from None
        if access_key != self.access_key:
            raise S3Refusal(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        if service != "s3" or terminator != "aws4_request" or date != amz_date[:8]:
            raise S3Refusal(400, "AuthorizationHeaderMalformed", "The Credential scope is invalid")
        if region != self.region:
            raise S3Refusal(
                400, "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; the region '{region}' is wrong; "
                f"expecting '{self.region}'",
            )
        return region

    @staticmethod
    def _signature(
        signer: botocore.auth.SigV4Auth,
        method: str,
        raw_path: str,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        signed: str,
        amz_date: str,
    ) -> str:
        """Sign the request as received, restricted to the headers the client claims it signed.

        A signed header the request lacks is signed as empty, which cannot match
        a signature made over its real value: S3 refuses such requests too.
        """
        names = [n for n in signed.split(";") if n]
        if "host" not in names:
            raise S3Refusal(400, "AuthorizationQueryParametersError", "host must be a signed header")
        request = AWSRequest(
            method=method,
            # S3 canonicalises the decoded path re-encoded per RFC 3986, which is what botocore sends.
            url="http://" + headers.get("host", "") + quote(unquote(raw_path), safe="/~"),
            headers={name: headers.get(name, "") for name in names},
            params=params or None,
        )
        request.context["timestamp"] = amz_date
        canonical = signer.canonical_request(request)
        return signer.signature(signer.string_to_sign(request, canonical), request)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SigV4CheckingApp:
    """WSGI middleware in front of moto: record, verify, then pass through."""

    def __init__(self, app: WSGIApp, verifier: SigV4Verifier, recorded: deque[RecordedRequest],
                 refuse_checksum_headers: bool = True) -> None:
        self.app = app
        self.verifier = verifier
        self.recorded = recorded
        self.refuse_checksum_headers = refuse_checksum_headers

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        split = urlsplit(raw_uri)
        headers = _headers_from_environ(environ)
        record = RecordedRequest(environ["REQUEST_METHOD"], split.path, split.query, headers)
        self.recorded.append(record)
        body = _read_body(environ)
        try:
            if self.refuse_checksum_headers:
                _refuse_checksum_headers(headers)
            self.verifier.verify(environ["REQUEST_METHOD"], split.path, split.query, headers, body)
            _check_content_md5(headers, body)
        except S3Refusal as refusal:
            record.status = refusal.status
            payload = refusal.xml()
            start_response(
                f"{refusal.status} {_REASONS.get(refusal.status, 'Error')}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)

        def recording_start_response(status: str, response_headers: list, exc_info: Any = None) -> Any:
            record.status = int(status.split(" ", 1)[0])
            return start_response(status, response_headers, exc_info)

        return self.app(environ, recording_start_response)


def _headers_from_environ(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length > 0 else b""


def _check_content_md5(headers: dict[str, str], body: bytes) -> None:
    """moto ignores Content-MD5; S3 and B2 refuse a body that does not match it."""
    given = headers.get("content-md5")
    if given is None:
        return
    try:
        digest = base64.b64decode(given, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise S3Refusal(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    if not hmac.compare_digest(digest, hashlib.md5(body).digest()):
        raise S3Refusal(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")


def _refuse_checksum_headers(headers: dict[str, str]) -> None:
    for name in headers:
        if name.startswith(CHECKSUM_HEADER_PREFIXES):
            raise S3Refusal(400, "InvalidArgument", f"Unsupported header '{name}' received for this API call.")


class _CountingHandler(MotoRequestHandler):
    """Counts connections and lets the server cut them all when it stops."""

    def setup(self) -> None:
        super().setup()
        tracker: ConnectionTracker = self.server.tracker  # type: ignore[attr-defined]
        tracker.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.tracker.closed(self.connection)  # type: ignore[attr-defined]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: pytest output should show failures, not an access log."""


class ConnectionTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.total = 0

    def opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.add(conn)
            self.total += 1

    def closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def cut_all(self) -> None:
        """Like a crashed store: every kept-alive connection dies too."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class S3TestServer(ThreadedMotoServer):
    """moto's threaded server with SigV4 checking in front; restartable on the same port."""

    def __init__(
        self,
        access_key: str = "HONEYDUETESTKEY",
        secret_key: str = "honeydue-test-secret-key",
        region: str = "us-west-004",
        port: int = 0,
        refuse_checksum_headers: bool = True,
    ) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.requests: deque[RecordedRequest] = deque(maxlen=10_000)
        self.connections = ConnectionTracker()
        self.clock_shift = 0.0  # seconds added to the server's clock: expiry tests without sleeping
        self.verifier = SigV4Verifier(access_key, secret_key, region, clock=lambda: time.time() + self.clock_shift)
        self._refuse_checksum_headers = refuse_checksum_headers
        self._running = False
        self._admin_client: Any = None

    def _server_entry(self) -> None:
        app = SigV4CheckingApp(
            DomainDispatcherApplication(create_backend_app),
            self.verifier,
            self.requests,
            refuse_checksum_headers=self._refuse_checksum_headers,
        )
        self._server = make_server(self._ip_address, self._port, app, threaded=True,
                                   request_handler=_CountingHandler)
        self._server.tracker = self.connections  # type: ignore[attr-defined]
        self._port = self._server.server_address[1]  # a restart binds the same port
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        if self._running:
            return
        super().start()
        self._running = True

    def stop(self) -> None:
        """Close the listening socket and every open connection: requests now fail to connect."""
        if not self._running:
            return
        super().stop()
        assert self._server is not None
        self._server.server_close()
        self.connections.cut_all()
        self._running = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def open_connections(self) -> int:
        return self.connections.open_count

    @contextmanager
    def shifted_clock(self, seconds: float) -> Iterator[None]:
        """Let the server believe it is ``seconds`` later (or earlier) than it is."""
        self.clock_shift += seconds
        try:
            yield
        finally:
            self.clock_shift -= seconds

    def clear_requests(self) -> None:
        self.requests.clear()

    def boto3_client(self, **config: Any) -> Any:
        """A synchronous client for fixtures (bucket setup), signed with the test credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **config,
            ),
        )

    def make_bucket(self, name: str = "honeyDueProd") -> str:
        """Create the bucket if it does not exist yet; mixed case like real B2 bucket names."""
        if self._admin_client is None:  # building a boto3 client takes ~0.5 s: keep one
            self._admin_client = self.boto3_client()
        client = self._admin_client
        try:
            client.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
            )
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def __enter__(self) -> S3TestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
