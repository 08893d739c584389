"""The embedded app over ASGI on each storage backend: the fixtures the upload, variant and metadata tests share.

``backend`` is parametrized over ``STORAGE_BACKENDS`` (the local directory and the S3 test server); a module
that defines a fixture of the same name (``backend``, ``app_client``, ``gql``) keeps its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from honeydue.settings import Settings
from tests.conftest import GraphQLClient, attach_test_services, make_settings
from tests.plugins.s3 import STORAGE_BACKENDS


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, object]]:
    """The embedded app (API + gateway routes) over ASGI, with the services the lifespan would open."""
    from honeydue.app import create_embedded_app

    app = create_embedded_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with attach_test_services(app, settings):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http), app


@pytest.fixture(params=STORAGE_BACKENDS)
async def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    if request.param == "local":
        return settings
    s3_env = request.getfixturevalue("s3_env")
    return make_settings(tmp_path / "s3", DATABASE_URL=settings.database_url, **s3_env)


@pytest.fixture
async def app_client(backend: Settings) -> AsyncIterator[tuple[GraphQLClient, object]]:
    async with running_app(backend) as pair:
        yield pair


@pytest.fixture
def gql(app_client: tuple[GraphQLClient, object]) -> GraphQLClient:
    return app_client[0]
