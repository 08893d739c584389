"""``honeydue gateway`` under either HTTP server (``GATEWAY_SERVER``): same probes, same logs, SIGTERM drains.

The gateway runs in granian by default (measured faster: bench/README.md) and in uvicorn on request; a
supervisor and an operator must not see the difference. A download in flight when SIGTERM arrives (a
rolling update) gets every byte, new connections are refused at once, and after its lifespan shutdown the
process dies of the signal (as uvicorn does); every line it logged is in ``LOG_FORMAT`` (granian's own too).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_serve, stop_serve

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
SIGNING_KEY = "gateway-server-test-key-" + "g" * 32
KEY = "residences/00000000-0000-0000-0000-000000000002/documents/big.pdf"
SIZE = 32 * 1024 * 1024

MEDIA_ROW = """
import asyncio, sys
from datetime import UTC, datetime
from honeydue import db
from honeydue.models import Media
from honeydue.models.enums import MediaPurpose, MediaStatus
from honeydue.settings import settings_or_exit

async def main():
    settings = settings_or_exit()
    await db.migrate(settings)
    await db.init_db(settings)
    try:
        await Media.create(key=sys.argv[1], purpose=MediaPurpose.DOCUMENT_FILE, filename="big.pdf",
                           content_type="application/pdf", size=int(sys.argv[2]), status=MediaStatus.READY,
                           etag=sys.argv[3], finalized_at=datetime.now(UTC))
    finally:
        await db.close_db()

asyncio.run(main())
"""


def gateway_with_object(tmp_path: Path, server: str) -> tuple[object, bytes, str]:
    from honeydue.signing import sign_media_url

    env = {"GATEWAY_SERVER": server, "MEDIA_SIGNING_KEY": SIGNING_KEY, "LOG_FORMAT": "json",
           "DATABASE_URL": f"sqlite://{tmp_path / 'var' / 'gateway.sqlite3'}"}
    body = os.urandom(1024 * 1024) * (SIZE // (1024 * 1024))
    path = tmp_path / "var" / "media" / KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
    child_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))},
                 "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(REPO), **env}
    subprocess.run([sys.executable, "-c", MEDIA_ROW, KEY, str(SIZE), etag], env=child_env, cwd=tmp_path,
                   check=True, timeout=120)
    gateway = start_serve(tmp_path, env, command="gateway")
    url = sign_media_url([SIGNING_KEY.encode()], gateway.base_url, KEY, 3600)
    return gateway, body, url


def wait_ready(base_url: str) -> bool:
    """``/readyz`` answers 200 (its checks time out after 2 s, which a loaded machine may exceed once)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if httpx.get(base_url + "/readyz", timeout=10).status_code == 200:
            return True
        time.sleep(0.5)
    return False


def read_response(sock: socket.socket, first_chunk: bytes) -> tuple[bytes, bytes]:
    """(head, body so far) from the bytes read until the end of the headers."""
    data = first_chunk
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_sigterm_lets_the_download_in_flight_finish(tmp_path: Path, server: str) -> None:
    gateway, body, url = gateway_with_object(tmp_path, server)
    try:
        assert wait_ready(gateway.base_url), gateway.log()[-3000:]
        target = url.split("127.0.0.1:", 1)[1].split("/", 1)[1]
        port = int(gateway.base_url.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # keep most of the body unsent
        sock.sendall(f"GET /{target} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        head, received = read_response(sock, sock.recv(65536))
        assert head.startswith(b"HTTP/1.1 200"), head
        assert f"content-length: {SIZE}".encode() in head.lower()

        gateway.process.send_signal(signal.SIGTERM)  # SIGTERM, as a supervisor or a rolling update sends it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the listener closes: new clients go to another replica
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the gateway still accepted connections 10 s after SIGTERM")

        chunks = [received]
        total = len(received)
        while total < SIZE:
            chunk = sock.recv(1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        sock.close()
        assert total == SIZE, f"the download was cut at {total} of {SIZE} bytes\n{gateway.log()[-3000:]}"
        assert b"".join(chunks) == body
        # Both die of the signal once shut down (uvicorn re-raises it), as a supervisor expects.
        assert gateway.process.wait(timeout=30) == -signal.SIGTERM, gateway.log()[-3000:]
    finally:
        stop_serve(gateway)

    lines = [line for line in gateway.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line in LOG_FORMAT, the server's own included
    assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "honeydue.access" and r["message"].startswith("GET /media/")]
    assert access and "sig=" not in access[0]["message"], access
    assert any(r["logger"] == "tortoise" and "shutdown" in r["message"] for r in records)  # the lifespan closed
    assert not [r for r in records if r["level"] in ("WARNING", "ERROR", "CRITICAL")], records
