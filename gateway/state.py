"""What the media routes keep for the life of their app besides the process's services: the gateway's caches.

Made once, when the app's services open (the gateway's lifespan, ``honeydue serve``'s, or a test's
``attach_gateway``), never on first use. The routes reach the services with ``services_of(request)``
and these caches with ``gateway_state(request)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from gateway.auth import AccessCache
from gateway.media_rows import RecentMedia
from honeydue.services import Services, attach_services


@dataclass(frozen=True)
class GatewayState:
    # Bearer access decisions, briefly, in Redis (off without Redis).
    access_cache: AccessCache
    # READY media rows by key, for a few seconds, in this process.
    recent_media: RecentMedia

    @classmethod
    def open(cls, services: Services) -> GatewayState:
        return cls(AccessCache(services.redis), RecentMedia())


def attach_gateway(app: Starlette, services: Services, state: GatewayState | None = None) -> GatewayState:
    """Attach ``services`` to an app that mounts the media routes, with its gateway state (new by default)."""
    attach_services(app, services)
    app.state.gateway = state or GatewayState.open(services)
    return app.state.gateway


def gateway_state(connection: HTTPConnection) -> GatewayState:
    """The gateway state of the app serving ``connection``."""
    state = getattr(connection.app.state, "gateway", None)
    if not isinstance(state, GatewayState):
        raise RuntimeError("the media routes' state is not open: the app's lifespan (or attach_gateway) did not run")
    return state
