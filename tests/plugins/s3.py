"""Fixtures for the signature-checking S3 test server (see ``tests/s3server.py``).

``s3_server`` is one server per session; ``s3_env`` / ``s3_settings`` give a
test its own fresh, mixed-case bucket on it. A fault test may ``stop()`` the
server; ``s3_env`` restarts it on the same port for the next test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from honeydue.settings import Settings, load_settings
from tests.s3server import S3TestServer

__all__ = ["STORAGE_BACKENDS", "backup_env", "backup_env_for", "s3_env", "s3_env_for", "s3_server", "s3_settings"]

# Params of a fixture that runs a test on both storage backends; the S3 one is in the `s3` tier. (A test that
# uses ``s3_server`` or a fixture built on it gets the marker from ``tests/conftest.py``.)
STORAGE_BACKENDS = ["local", pytest.param("s3", marks=pytest.mark.s3)]


def s3_env_for(server: S3TestServer, bucket: str) -> dict[str, str]:
    """The B2_* variables that point honeydue at ``bucket`` on the test server."""
    return {
        "B2_ENDPOINT": server.endpoint_url,
        "B2_REGION": server.region,
        "B2_BUCKET_NAME": bucket,
        "B2_KEY_ID": server.access_key,
        "B2_APP_KEY": server.secret_key,
        "B2_USE_SSL": "false",
    }


def backup_env_for(server: S3TestServer, bucket: str) -> dict[str, str]:
    """The BACKUP_* variables that point honeydue's backup at ``bucket`` on the test server."""
    return {
        "BACKUP_ENDPOINT": server.endpoint_url,
        "BACKUP_REGION": server.region,
        "BACKUP_BUCKET_NAME": bucket,
        "BACKUP_KEY_ID": server.access_key,
        "BACKUP_APP_KEY": server.secret_key,
        "BACKUP_USE_SSL": "false",
    }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3TestServer]:
    server = S3TestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3TestServer) -> dict[str, str]:
    """B2_* variables for a fresh bucket (``honeyDue…``: mixed case, as B2 allows)."""
    s3_server.start()  # a previous fault test may have stopped it
    bucket = s3_server.make_bucket(f"honeyDue-{uuid.uuid4().hex[:12]}")
    return s3_env_for(s3_server, bucket)


@pytest.fixture
def backup_env(s3_server: S3TestServer) -> dict[str, str]:
    """BACKUP_* variables for a second fresh bucket on the same test server (the backup of ``s3_env``'s)."""
    s3_server.start()
    bucket = s3_server.make_bucket(f"honeyDueBackup-{uuid.uuid4().hex[:12]}")
    return backup_env_for(s3_server, bucket)


@pytest.fixture
def s3_settings(s3_env: dict[str, str], tmp_path: Path) -> Settings:
    """Settings whose storage is the test server's fresh bucket (no database needed)."""
    return load_settings(
        {
            **s3_env,
            "HONEYDUE_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_SIGNING_KEY": "test-signing-key-" + "s" * 32,
            "PUBLIC_GATEWAY_URL": "http://testserver",
            "LOG_FORMAT": "text",
        }
    )
