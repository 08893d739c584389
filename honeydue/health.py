"""``/healthz`` (the process answers) and ``/readyz`` (what it needs to serve answers), for api and gateway.

Readiness names each failing dependency: ``database`` (no ``SELECT 1``), ``migrations`` (the database lacks
migrations this code needs: run ``honeydue migrate``) and ``redis`` for a process that needs Redis to do
its job. The gateway does not: it only caches access decisions there, and answers from the database when
Redis is away, so a Redis outage must not take media off the load balancer.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from honeydue.migration_state import MigrationWatch
from honeydue.services import services_of

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


class Readiness:
    """The ``/readyz`` endpoint of one app; ``needs_redis`` says whether a Redis outage makes it unready."""

    def __init__(self, needs_redis: bool) -> None:
        self.needs_redis = needs_redis
        self.migrations = MigrationWatch()

    async def failing(self, request: Request) -> list[str]:
        services = services_of(request)
        failing: list[str] = []
        try:
            await asyncio.wait_for(services.db.ping(), CHECK_TIMEOUT)
        except Exception as exc:
            log.warning("readiness: database unavailable: %s", exc.__class__.__name__)
            failing.append("database")
        else:
            try:
                pending = await asyncio.wait_for(self.migrations.pending(), CHECK_TIMEOUT)
            except Exception as exc:
                log.warning("readiness: could not read the applied migrations: %s", exc.__class__.__name__)
                failing.append("migrations")
            else:
                if pending:
                    log.warning("readiness: migrations pending (run `honeydue migrate`): %s", ", ".join(pending))
                    failing.append("migrations")
        if self.needs_redis and services.redis is not None:
            try:
                await asyncio.wait_for(services.redis.ping(), CHECK_TIMEOUT)
            except Exception as exc:
                log.warning("readiness: redis unavailable: %s", exc.__class__.__name__)
                failing.append("redis")
        return failing

    async def endpoint(self, request: Request) -> JSONResponse:
        failing = await self.failing(request)
        if failing:
            return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503, headers=NO_STORE)
        return JSONResponse({"status": "ready"}, headers=NO_STORE)


def health_routes(*, needs_redis: bool) -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", Readiness(needs_redis).endpoint, methods=["GET", "HEAD"])]
