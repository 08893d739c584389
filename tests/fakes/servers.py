"""Serve an ASGI app from the test's event loop with hypercorn: over TLS (HTTP/2 offered by ALPN) or plain."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.conftest import free_port


@contextlib.asynccontextmanager
async def running(app: Any, *, ca: trustme.CA | None = None, tmp: Path | None = None,
                  names: tuple[str, ...] = ()) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 until the block ends; yields its base URL (https when ``ca`` issues a cert, valid
    for 127.0.0.1, localhost and ``names``)."""
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.2
    if ca is not None:
        assert tmp is not None
        cert = ca.issue_cert("127.0.0.1", "localhost", *names)
        certfile, keyfile = tmp / f"cert-{port}.pem", tmp / f"key-{port}.pem"
        cert.cert_chain_pems[0].write_to_path(str(certfile))
        cert.private_key_pem.write_to_path(str(keyfile))
        config.certfile, config.keyfile = str(certfile), str(keyfile)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    scheme = "https" if ca is not None else "http"
    for _ in range(200):  # until it listens
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        stop.set()
        # A client still holding a keep-alive connection makes hypercorn wait out graceful_timeout, after which
        # its shutdown trips over its own gathered future (InvalidStateError); the server is closed either way.
        with contextlib.suppress(asyncio.InvalidStateError, asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context that trusts only ``ca`` (what the transports get as ``verify``)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
