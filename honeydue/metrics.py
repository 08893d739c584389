"""Prometheus metrics of every honeydue process, the ASGI middleware that counts requests, and ``/metrics``.

Requests are labelled by ROUTE TEMPLATE (``/media/{key:path}``), never by the raw path: a label per media key
would grow the series without bound and take the Prometheus server down with it. Requests no route matched
share one ``unmatched`` label for the same reason, and unknown methods share ``OTHER``.

The API and the gateway expose ``/metrics`` on their own port (the Ingress routes only ``/graphql`` and
``/media``, so it stays in the cluster). ``honeydue worker --metrics-port`` serves them from
``workers.http_endpoints``: ``run_worker`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker process imports
``prometheus_client``, and ``exposition_registry`` then merges the per-process files instead of serving one
process's memory.
"""

from __future__ import annotations

import logging
import os
import re
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Label values callers pass in (job names, error kinds) must be short identifiers: anything else is a bug
# that would otherwise become an unbounded series.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# Latency buckets from a cached GraphQL read (a few ms) to a long media stream.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "honeydue_http_requests_total",
    "HTTP requests answered, by app, route template, method and status code.",
    ["app", "route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "honeydue_http_request_duration_seconds",
    "Time from request start to the last body byte sent, by app and route template.",
    ["app", "route"],
    buckets=DURATION_BUCKETS,
)
GRAPHQL_OPERATIONS = Counter(
    "honeydue_graphql_operations_total",
    "GraphQL operations by root field(s) and outcome (ok, user_error, error).",
    ["operation", "outcome"],
)
GATEWAY_BYTES_STREAMED = Counter(
    "honeydue_gateway_bytes_streamed_total",
    "Body bytes the gateway sent to clients from the store.",
)
GATEWAY_UPSTREAM_ERRORS = Counter(
    "honeydue_gateway_upstream_errors_total",
    "Failed requests from the gateway to the store, by kind.",
    ["kind"],
)
JOBS = Counter("honeydue_jobs_total", "Background jobs run, by job and outcome (ok, failed, skipped).",
               ["job", "outcome"])
JOB_DURATION = Histogram("honeydue_job_duration_seconds", "Background job run time, by job.", ["job"],
                         buckets=JOB_BUCKETS)


def _label(value: str, what: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise ValueError(f"{what} {value!r} is not a short identifier (metric label)")
    return value


# Helpers the gateway and the workers call --------------------------------------------------------------


def record_bytes_streamed(n: int) -> None:
    """Count ``n`` body bytes sent by the gateway (call per chunk or once per response)."""
    if n > 0:
        GATEWAY_BYTES_STREAMED.inc(n)


def record_upstream_error(kind: str) -> None:
    """Count one failed store request; ``kind`` is a fixed word such as ``timeout``, ``unavailable``."""
    GATEWAY_UPSTREAM_ERRORS.labels(_label(kind, "error kind")).inc()


def record_job(job: str, outcome: str, seconds: float) -> None:
    """Count one job run (``outcome`` ok, failed or skipped) and observe its duration."""
    JOBS.labels(_label(job, "job"), _label(outcome, "outcome")).inc()
    JOB_DURATION.labels(job).observe(max(seconds, 0.0))


def record_graphql_operation(operation: str, outcome: str) -> None:
    GRAPHQL_OPERATIONS.labels(operation, outcome).inc()


# HTTP requests -------------------------------------------------------------------------------------------


def route_template(scope: Scope, entry_root_path: str) -> str:
    """The template of the route Starlette's router matched (it records it in ``scope["route"]``).

    Mounted sub-apps extend ``root_path``; the part added since the request entered this app is the
    mount's prefix.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED_ROUTE
    prefix = str(scope.get("root_path", ""))[len(entry_root_path):]
    if isinstance(route, Mount):
        return prefix + "/{path}"
    path = getattr(route, "path", None)
    return prefix + path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Pure ASGI: counts each HTTP request and times it up to the last body byte.

    Pure ASGI (not ``BaseHTTPMiddleware``) so streamed media bodies pass through unbuffered.
    """

    def __init__(self, app: ASGIApp, app_name: str) -> None:
        self.app = app
        self.app_name = app_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        entry_root_path = str(scope.get("root_path", ""))
        status = 500  # what the server answers when the app fails before starting a response

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            route = route_template(scope, entry_root_path)
            HTTP_REQUESTS.labels(self.app_name, route, method, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(self.app_name, route).observe(time.perf_counter() - started)


# Exposition ----------------------------------------------------------------------------------------------


def exposition_registry() -> CollectorRegistry:
    """The registry to serve: the merged per-process files in multiprocess mode, else this process's own."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(exposition_registry()), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def metrics_route() -> Route:
    return Route("/metrics", metrics_endpoint, methods=["GET"])


def install_metrics(app: Starlette, app_name: str) -> None:
    """Add ``/metrics`` and the request-counting middleware to ``app``; call before it starts."""
    app.router.routes.append(metrics_route())
    app.add_middleware(HttpMetricsMiddleware, app_name=app_name)
