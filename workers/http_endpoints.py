"""The HTTP side of ``honeydue worker --metrics-port P``: ``/metrics`` of every worker process, and ``/healthz``.

It runs as a Dramatiq "fork" (a process of its own next to the worker processes, started by the supervisor),
so it answers whatever the worker processes are doing, and says so:

* ``/metrics``: the job counters of all worker processes. Each writes its metrics to files in
  ``PROMETHEUS_MULTIPROC_DIR`` (``prometheus_client``'s multiprocess mode, set up by ``run_worker`` before the
  processes start); this merges them.
* ``/healthz``: 200 while every worker process writes its heartbeat (``workers.heartbeat``), else 503 with the
  reasons. The Deployment's liveness probe asks this, not ``/metrics``.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)


class WorkerEndpoints(Middleware):
    """Declares the endpoint server as a fork of the worker supervisor."""

    @property
    def forks(self) -> list:
        return [serve_worker_endpoints]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        from workers.cli import current_worker_config
        from workers.heartbeat import heartbeat_problems

        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            from honeydue.metrics import exposition_registry

            self._answer(200, generate_latest(exposition_registry()), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            config = current_worker_config()
            problems = heartbeat_problems(config.heartbeat_dir, config.processes, config.heartbeat_max_age)
            body = ("\n".join(problems) if problems else "ok") + "\n"
            self._answer(503 if problems else 200, body.encode(), "text/plain; charset=utf-8")
        else:
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


def serve_worker_endpoints() -> int:
    """The fork's body: serve until Dramatiq's fork process turns SIGTERM into ``SystemExit``."""
    from workers.cli import current_worker_config

    config = current_worker_config()
    assert config.metrics_port is not None
    server = ThreadingHTTPServer((config.metrics_host, config.metrics_port), _Handler)
    server.daemon_threads = True
    log.info("worker metrics and liveness on %s:%d (/metrics, /healthz)", config.metrics_host, config.metrics_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
