"""The embedded `honeydue serve` over real HTTP: health, GraphQL accounts, GraphiQL page; `honeydue api`'s
readiness on a database that was never migrated."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database, drop_postgres_database, start_serve, stop_serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def honeydue_serve(tmp_path_factory):
    """A server of this module's own: the shared one is hammered by the fuzzers (and their login attempts)."""
    server = start_serve(tmp_path_factory.mktemp("serve-e2e"))
    yield server
    stop_serve(server)

REGISTER = """mutation { register(input: {email: "e2e@example.com", password: "correct horse battery",
  displayName: "E2E"}) { token userErrors { code } } }"""
LOGIN = """mutation { login(input: {email: "e2e@example.com", password: "correct horse battery"})
  { token userErrors { code } } }"""


def test_register_login_me_over_http(honeydue_serve) -> None:
    base = honeydue_serve.base_url
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 200
        reg = http.post("/graphql", json={"query": REGISTER}).json()["data"]["register"]
        assert reg["userErrors"] == [] and reg["token"]
        login = http.post("/graphql", json={"query": LOGIN}).json()["data"]["login"]
        me = http.post("/graphql", json={"query": "{ me { email } }"},
                       headers={"Authorization": f"Bearer {login['token']}"}).json()
        assert me == {"data": {"me": {"email": "e2e@example.com"}}}


def test_graphiql_page_is_served(honeydue_serve) -> None:
    response = httpx.get(honeydue_serve.base_url + "/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "graphiql" in response.text.lower()
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def test_embedded_state_lives_under_var(honeydue_serve) -> None:
    var = honeydue_serve.workdir / "var"
    assert (var / "honeydue.sqlite3").exists()
    assert (var / "media-signing-key").exists()


@pytest.mark.browser
async def test_graphiql_runs_a_query_in_chromium(honeydue_serve) -> None:
    """The real `honeydue serve` page, in Debian's Chromium, with no internet: only local assets can work."""
    from tests.test_graphiql_browser import find_chromium, run_typename_in_graphiql

    binary = find_chromium()
    if binary is None:
        from tests.conftest import missing_service

        missing_service("chromium")
        pytest.skip("unreachable")
    report = await run_typename_in_graphiql(binary, honeydue_serve.base_url)
    assert '"__typename": "Query"' in report.result_text, report.result_text
    assert report.csp_violations == [], report.csp_violations
    assert [line for line in report.console if "Content Security Policy" in line] == []
    assert [u for u in report.request_urls if not u.startswith((honeydue_serve.base_url, "data:"))] == []


def _cli(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))}
    child.update({"HONEYDUE_VAR_DIR": str(workdir / "var"), "LOG_FORMAT": "text", **env})
    return subprocess.run([sys.executable, "-m", "honeydue.cli", *args], cwd=workdir, env=child,
                          capture_output=True, text=True, timeout=120)


UPLOAD = """mutation { requestUpload(input: {purpose: AVATAR, filename: "a.png", contentType: "image/png",
  size: 10}) { upload { url } userErrors { code } } }"""


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_api_on_an_unmigrated_database_is_alive_not_ready_and_links_to_the_gateway(
    backend: str, tmp_path: Path
) -> None:
    # An empty PUBLIC_GATEWAY_URL counts as unset.
    env = {"PUBLIC_GATEWAY_URL": ""}
    if backend == "postgres":
        env["DATABASE_URL"] = asyncio.run(create_postgres_database())
    api = start_serve(tmp_path, env, command="api")  # returns once /healthz answers 200: liveness holds
    try:
        ready = httpx.get(api.base_url + "/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json() == {"status": "unavailable", "failing": ["migrations"]}

        check = _cli(tmp_path, env, "check-config")
        assert check.returncode == 1, check.stdout + check.stderr
        lines = check.stdout.splitlines()
        assert any(line.split()[:2] == ["FAIL", "migrations"] and "0001_initial" in line for line in lines), lines
        assert any(line.split()[:2] == ["warn", "links"] and "http://127.0.0.1:8001" in line for line in lines)
        assert any(line.split()[:2] == ["warn", "app-links"] and "http://127.0.0.1:8000" in line for line in lines)
        assert lines[-1] == "check-config: FAILED: migrations"

        migrated = _cli(tmp_path, env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert httpx.get(api.base_url + "/readyz", timeout=10).json() == {"status": "ready"}
        assert _cli(tmp_path, env, "check-config").returncode == 0

        # Links name where `honeydue gateway` listens by default, not this api's own port.
        with httpx.Client(base_url=api.base_url, timeout=10) as http:
            token = http.post("/graphql", json={"query": REGISTER}).json()["data"]["register"]["token"]
            upload = http.post("/graphql", json={"query": UPLOAD},
                               headers={"Authorization": f"Bearer {token}"}).json()["data"]["requestUpload"]
        assert upload["userErrors"] == []
        assert upload["upload"]["url"].startswith("http://127.0.0.1:8001/media/upload/"), upload
        assert api.log().count("PUBLIC_GATEWAY_URL is unset: media links point at http://127.0.0.1:8001") == 1
        assert api.log().count("PUBLIC_APP_URL is unset: links in emails (password reset, verification) point at "
                               "http://127.0.0.1:8000") == 1
    finally:
        stop_serve(api)
        if backend == "postgres":
            asyncio.run(drop_postgres_database(env["DATABASE_URL"]))
