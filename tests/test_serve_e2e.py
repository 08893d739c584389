"""The embedded `honeydue serve` over real HTTP: health, GraphQL accounts, GraphiQL page."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import start_serve, stop_serve


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
