"""ASGI app factories: the API, and the embedded all-in-one app of ``honeydue serve``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from honeydue.calendar_route import calendar_routes
from honeydue.db import close_db, init_db
from honeydue.health import health_routes
from honeydue.ratelimit import RateLimiter
from honeydue.redis_client import create_redis
from honeydue.settings import Settings
from honeydue.storage import create_storage
from schema.view import HoneydueGraphQL

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_services(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    """Everything long-lived a process holds: the ORM, Redis, the storage client. Opened once."""
    await init_db(settings)
    redis = create_redis(settings)
    storage = create_storage(settings)
    await storage.start()
    app.state.settings = settings
    app.state.redis = redis
    app.state.rate_limiter = RateLimiter(redis)
    app.state.storage = storage
    try:
        yield
    finally:
        await storage.close()
        if redis is not None:
            await redis.aclose()
        await close_db()


def graphql_routes() -> list[BaseRoute]:
    from schema import schema

    view = HoneydueGraphQL(schema, graphql_ide="graphiql", allow_queries_via_get=False)
    return [Route("/graphql", view, methods=["GET", "POST", "OPTIONS"])]


def create_api_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from workers.broker import install_broker

        # The API only sends jobs (deleteAccount's purge); without this, Dramatiq's default broker is RabbitMQ.
        broker = install_broker(settings)
        try:
            async with open_services(app, settings):
                yield
        finally:
            broker.close()

    return _finish(Starlette(routes=[*graphql_routes(), *calendar_routes(), *health_routes(needs_redis=True)],
                             lifespan=lifespan), settings)


def create_embedded_app(settings: Settings) -> Starlette:
    """API, gateway and in-process jobs on one port: the ``honeydue serve`` default."""
    from gateway.routes import media_routes
    from workers.embedded import run_embedded_jobs

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(app, settings), run_embedded_jobs(settings):
            yield

    routes = [*graphql_routes(), *calendar_routes(), *health_routes(needs_redis=True), *media_routes()]
    return _finish(Starlette(routes=routes, lifespan=lifespan), settings)


def _finish(app: Starlette, settings: Settings) -> Starlette:
    from honeydue.client_address import ClientAddressMiddleware
    from honeydue.graphiql import graphiql_static_mount
    from honeydue.metrics import install_metrics
    from honeydue.request_id import RequestIdMiddleware
    from honeydue.security_headers import apply_security

    app.router.routes.append(graphiql_static_mount())
    apply_security(app, settings)
    # Added after the security headers so they wrap them: every answer is counted and carries its id.
    serves_media = any(getattr(route, "path", "").startswith("/media/") for route in app.routes)
    install_metrics(app, "serve" if serves_media else "api")
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the access log and the rate limits see the client's address, not the proxy's.
    app.add_middleware(ClientAddressMiddleware, settings=settings)
    return app
