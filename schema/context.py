"""The per-request GraphQL context: who is asking, the process's services, and this request's DataLoaders."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from honeydue.client_address import client_address
from honeydue.errors import Unauthenticated
from honeydue.models import User
from honeydue.ratelimit import RateLimiter
from honeydue.services import Services
from honeydue.settings import Settings
from honeydue.storage import Storage
from honeydue.tokens import SessionOrigin, session_origin


@dataclass
class Context:
    request: Request
    response: Response
    services: Services
    user: User | None
    token: str | None
    session_id: uuid.UUID | None = None  # the id of the token making the request (its session)
    _loaders: dict[str, DataLoader] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.services.rate_limiter

    @property
    def client_ip(self) -> str:
        """The client's address as ``honeydue.client_address`` derived it (proxies resolved)."""
        return client_address(self.request.scope)

    def session_origin(self) -> SessionOrigin:
        """This request's user agent and client address, as a token issued now records them."""
        return session_origin(self.request.headers.get("user-agent"), self.client_ip)

    def require_user(self) -> User:
        if self.user is None:
            raise Unauthenticated()
        return self.user

    def loader(self, name: str, batch: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]) -> DataLoader:
        """This request's DataLoader called ``name`` (one per request, so nothing leaks between users)."""
        existing = self._loaders.get(name)
        if existing is None:
            existing = self._loaders[name] = DataLoader(load_fn=batch)
        return existing
