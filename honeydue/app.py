"""ASGI app factories: the API, and the embedded all-in-one app of ``honeydue serve``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from honeydue.calendar_route import calendar_routes
from honeydue.health import health_routes
from honeydue.mail.unsubscribe import unsubscribe_routes
from honeydue.services import attach_services, open_services
from honeydue.settings import Settings
from schema.view import HoneydueGraphQL

log = logging.getLogger(__name__)


def graphql_routes() -> list[BaseRoute]:
    from schema import schema

    view = HoneydueGraphQL(schema, graphql_ide="graphiql", allow_queries_via_get=False)
    return [Route("/graphql", view, methods=["GET", "POST", "OPTIONS"])]


def create_api_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from workers.broker import install_broker

        # The API only sends jobs (deleteAccount's purge, emails); without this, Dramatiq's default broker is
        # RabbitMQ.
        with contextlib.closing(install_broker(settings)) as broker:
            async with open_services(settings, broker=broker) as services:
                attach_services(app, services)
                yield

    routes = [*graphql_routes(), *calendar_routes(), *health_routes(needs_redis=True), *unsubscribe_routes()]
    return _finish(Starlette(routes=routes, lifespan=lifespan), settings)


def create_embedded_app(settings: Settings) -> Starlette:
    """API, gateway and in-process jobs on one port: the ``honeydue serve`` default."""
    from gateway.routes import media_routes
    from gateway.state import attach_gateway
    from workers.embedded import embedded_broker, run_embedded_jobs

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One set of services for the API, the media routes and the in-process jobs (one storage client).
        async with open_services(settings, broker=embedded_broker(settings)) as services:
            attach_gateway(app, services)  # the services, plus the media routes' caches
            async with run_embedded_jobs(services):
                yield

    routes = [*graphql_routes(), *calendar_routes(), *health_routes(needs_redis=True), *unsubscribe_routes(),
              *media_routes()]
    return _finish(Starlette(routes=routes, lifespan=lifespan), settings)


def _finish(app: Starlette, settings: Settings) -> Starlette:
    from honeydue.account_pages import account_routes
    from honeydue.action_pages import action_routes
    from honeydue.admin_console import admin_routes
    from honeydue.client_address import ClientAddressMiddleware
    from honeydue.graphiql import graphiql_static_mount
    from honeydue.metrics import install_metrics
    from honeydue.request_id import RequestIdMiddleware
    from honeydue.security_headers import apply_security

    app.router.routes.append(graphiql_static_mount())
    # The admin console (/admin): a page and its static files, talking only to /graphql.
    app.router.routes.extend(admin_routes())
    # The pages the account emails link to (password reset, address verification), served by api and serve.
    app.router.routes.extend(account_routes())
    # Where a reminder's "Done" and "Snooze 1 day" links lead (push, email, webhooks).
    app.router.routes.extend(action_routes())
    apply_security(app, settings)
    # Added after the security headers so they wrap them: every answer is counted and carries its id.
    serves_media = any(getattr(route, "path", "").startswith("/media/") for route in app.routes)
    install_metrics(app, "serve" if serves_media else "api")
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the access log and the rate limits see the client's address, not the proxy's.
    app.add_middleware(ClientAddressMiddleware, settings=settings)
    return app
