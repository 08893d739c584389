"""Run an ASGI app in this process with uvicorn or granian: same address, probes, shutdown and log lines.

Both serve ONE process (no worker processes, no supervisor), so the pid a supervisor signals is the one
serving, and logging is ``honeydue.logging_setup``'s in both. On SIGTERM or SIGINT both stop accepting
connections, let the requests in flight finish for up to ``GRACEFUL_SHUTDOWN_SECONDS``, then run the app's
lifespan shutdown (closing the database and the store's connection pool) and exit 0.

granian runs in its embedded mode: its Rust HTTP server on its own thread, the app on this process's asyncio
loop. Its own log records ("Starting granian", "Listening at") go to the root handler like everyone else's,
and its access log stays off: ``honeydue.access`` logs paths without query strings (signed links).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

Server = Literal["uvicorn", "granian"]
GRACEFUL_SHUTDOWN_SECONDS = 10


def serve(app: ASGIApp, host: str, port: int, server: Server = "uvicorn") -> None:
    if server == "granian":
        # uvloop, as uvicorn picks it: granian wakes the loop from its Rust thread for every request and body
        # chunk (call_soon_threadsafe), which costs a self-pipe write per wake-up on asyncio's default loop.
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            received = runner.run(_serve_granian(app, host, port))
        if received is not None:
            # As uvicorn does: once shut down, die of the signal that stopped us, so a supervisor sees the
            # same exit status (killed by SIGTERM, 143 in a shell) from either server.
            signal.signal(received, signal.SIG_DFL)
            signal.raise_signal(received)
    else:
        _serve_uvicorn(app, host, port)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; without it, asyncio's own loop
        return None
    return uvloop.new_event_loop


def _serve_uvicorn(app: ASGIApp, host: str, port: int) -> None:
    import uvicorn

    # Proxy headers are read by honeydue.client_address.ClientAddressMiddleware inside the app (it needs the
    # real peer to decide whether to believe them, and knows CLIENT_IP_HEADER); uvicorn must leave them alone.
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False,
                server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)


# granian configures logging with dictConfig when its server is made; this keeps its loggers handler-less
# and propagating, so their records reach the root handler configure_logging installed (JSON or text).
_GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {},
    "handlers": {},
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": True},
    },
}


async def _serve_granian(app: ASGIApp, host: str, port: int) -> signal.Signals | None:
    """Serve until SIGTERM/SIGINT (returned, to re-raise after the loop closes) or until granian stops."""
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server as EmbeddedServer

    in_flight: set[asyncio.Task] = set()
    server = EmbeddedServer(
        _tracking(app, in_flight),
        address=host,
        port=port,
        interface=Interfaces.ASGI,  # with the lifespan protocol: the app opens and closes its services
        http=HTTPModes.http1,
        websockets=False,
        log_dictconfig=_GRANIAN_LOGGING,
        log_access=False,
        backlog=2048,  # uvicorn's default
    )
    # Without this granian logs every start at WARNING ("Embedded server is experimental!"): not an operator's
    # concern, and noise in their alerts.
    logging.getLogger("_granian").addFilter(lambda record: "experimental" not in record.getMessage())
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    received: list[signal.Signals] = []

    def stop(signum: signal.Signals) -> None:
        if not stopping.is_set():
            received.append(signum)
            stopping.set()
            log.info("shutting down: finishing requests in flight (at most %d s)", GRACEFUL_SHUTDOWN_SECONDS)
            server.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    serving = asyncio.create_task(server.serve())
    await asyncio.wait({serving, asyncio.create_task(stopping.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        await asyncio.wait({serving}, timeout=GRACEFUL_SHUTDOWN_SECONDS)
    if not serving.done():
        # As uvicorn does past its graceful timeout: cancel the requests still running (each closes its upstream
        # body in a finally), so their connections end and the lifespan shutdown still runs.
        log.warning("%d requests still in flight after %d s: cancelling them", len(in_flight),
                    GRACEFUL_SHUTDOWN_SECONDS)
        for task in list(in_flight):
            task.cancel()
        await asyncio.wait({serving}, timeout=5)
    if not serving.done():
        log.error("granian did not stop; exiting without the lifespan shutdown")
    else:
        serving.result()
    return received[0] if received else None


def _tracking(app: ASGIApp, in_flight: set[asyncio.Task]) -> ASGIApp:
    """``app``, recording the task of each HTTP request while it runs (granian runs each as a task of this loop)."""

    async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task() if scope["type"] == "http" else None
        if task is None:
            await app(scope, receive, send)
            return
        in_flight.add(task)
        try:
            await app(scope, receive, send)
        finally:
            in_flight.discard(task)

    return tracked
