"""``/admin`` as served by ``honeydue api`` and ``honeydue serve``: markup only, every file from our origin with an
absolute path and (vendor files) an integrity hash, under the API's strict CSP; a page that says how to install
missing libraries; cache headers; and the committed console code is ours and readable (no minified file)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import honeydue.admin_console
from honeydue.app import create_api_app, create_embedded_app
from honeydue.security_headers import CONTENT_SECURITY_POLICY
from tests.conftest import make_settings
from tests.test_graphiql_browser import _PageMarkup

REPO = Path(__file__).resolve().parent.parent
NAMES = (*honeydue.admin_console.VENDOR_SCRIPTS, *honeydue.admin_console.VENDOR_STYLES)


def _fake_vendor(directory: Path) -> None:
    directory.mkdir()
    for name in NAMES:
        (directory / name).write_text(f"/* {name} */")
    (directory / "manifest.json").write_text(json.dumps({"files": {n: {"integrity": f"sha384-{n}"} for n in NAMES}}))


async def _get(app: Starlette, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await client.get(path)


@pytest.mark.parametrize("factory", [create_api_app, create_embedded_app], ids=["api", "serve"])
async def test_the_page_loads_only_our_own_files_under_the_strict_csp(
    factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(honeydue.admin_console, "VENDOR_DIR", tmp_path / "vendor")
    _fake_vendor(tmp_path / "vendor")
    app = factory(make_settings(tmp_path))
    for path in ("/admin", "/admin/"):
        response = await _get(app, path)
        assert response.status_code == 200
        markup = _PageMarkup()
        markup.feed(response.text)
        assert markup.inline == []
        assert markup.urls and all(url.startswith("/admin/static/") or url == "data:," for url in markup.urls)
        assert '<script src="/admin/static/app.js" defer></script>' in response.text
        assert '<link rel="stylesheet" href="/admin/static/app.css">' in response.text
        for name in NAMES:
            assert f'integrity="sha384-{name}"' in response.text
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"


async def test_without_the_libraries_the_page_says_how_to_install_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(honeydue.admin_console, "VENDOR_DIR", tmp_path / "missing")
    response = await _get(create_embedded_app(make_settings(tmp_path)), "/admin")
    assert response.status_code == 200 and "scripts/fetch-admin-assets" in response.text
    assert "<script" not in response.text


async def test_static_files_and_their_cache_headers(tmp_path: Path) -> None:
    app = create_embedded_app(make_settings(tmp_path))
    own = await _get(app, "/admin/static/app.js")
    assert own.status_code == 200 and own.headers["Cache-Control"] == "no-cache"
    assert "javascript" in own.headers["content-type"]
    assert (await _get(app, "/admin/static/nope.js")).status_code == 404
    assert (await _get(app, "/admin/static/../../settings.py")).status_code == 404
    if honeydue.admin_console.load_integrity(honeydue.admin_console.VENDOR_DIR) is not None:
        vendor = await _get(app, "/admin/static/vendor/preact.min.js")
        assert vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_the_committed_console_is_ours_and_readable() -> None:
    """No third-party or minified code is committed: the vendor directory is ignored, our files are plain."""
    tracked = subprocess.run(["git", "ls-files", "honeydue/static/admin"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    assert sorted(tracked) == ["honeydue/static/admin/app.css", "honeydue/static/admin/app.js"]
    for name in tracked:
        lines = (REPO / name).read_text().splitlines()
        assert max(len(line) for line in lines) <= 120, name  # written by hand, not minified
