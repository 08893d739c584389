"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer), for api and gateway."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from honeydue.db import ping_db

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    failing: list[str] = []
    try:
        await asyncio.wait_for(ping_db(), CHECK_TIMEOUT)
    except Exception as exc:
        log.warning("readiness: database unavailable: %s", exc.__class__.__name__)
        failing.append("database")
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT)
        except Exception as exc:
            log.warning("readiness: redis unavailable: %s", exc.__class__.__name__)
            failing.append("redis")
    if failing:
        return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})


def health_routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET", "HEAD"]), Route("/readyz", readyz, methods=["GET", "HEAD"])]
