"""The ``honeydue gateway`` process: media routes plus health checks, with one of each client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from gateway.routes import media_routes
from gateway.state import attach_gateway
from honeydue.client_address import ClientAddressMiddleware
from honeydue.health import health_routes
from honeydue.metrics import install_metrics
from honeydue.request_id import RequestIdMiddleware
from honeydue.services import open_services
from honeydue.settings import Settings, get_settings
from honeydue.storage import Storage


def create_gateway_app(settings: Settings | None = None, storage: Storage | None = None) -> Starlette:
    """The gateway ASGI app; its lifespan opens the services. A ``storage`` passed in is shared and left open."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, storage=storage) as services:
            attach_gateway(app, services)
            yield

    # Redis only caches access decisions here (gateway/auth.py): its outage must not make the gateway unready.
    app = Starlette(routes=[*health_routes(needs_redis=False), *media_routes()], lifespan=lifespan)
    install_metrics(app, "gateway")
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ClientAddressMiddleware, settings=settings)  # outermost: logs see the client's address
    return app
