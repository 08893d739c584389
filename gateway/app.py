"""The ``honeydue gateway`` process: media routes plus health checks, with one of each client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from gateway.routes import media_routes
from honeydue.client_address import ClientAddressMiddleware
from honeydue.db import close_db, init_db
from honeydue.health import health_routes
from honeydue.metrics import install_metrics
from honeydue.redis_client import create_redis
from honeydue.request_id import RequestIdMiddleware
from honeydue.settings import Settings, get_settings
from honeydue.storage import Storage, create_storage


def create_gateway_app(settings: Settings | None = None, storage: Storage | None = None) -> Starlette:
    """The gateway ASGI app. A ``storage`` passed in is used as is and left open at shutdown.

    ``app.state.settings`` (and ``storage`` when given) are set at once, not in
    the lifespan, so tests driving the app without a lifespan can use it too.
    """
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await init_db(settings)
        owned = storage is None
        store = storage if storage is not None else create_storage(settings)
        await store.start()
        redis = create_redis(settings)
        app.state.storage = store
        app.state.redis = redis
        try:
            yield
        finally:
            if owned:
                await store.close()
            if redis is not None:
                await redis.aclose()
            await close_db()

    # Redis only caches access decisions here (gateway/auth.py): its outage must not make the gateway unready.
    app = Starlette(routes=[*health_routes(needs_redis=False), *media_routes()], lifespan=lifespan)
    install_metrics(app, "gateway")
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ClientAddressMiddleware, settings=settings)  # outermost: logs see the client's address
    app.state.settings = settings
    if storage is not None:
        app.state.storage = storage
    return app
