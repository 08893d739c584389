"""The admin console's page: ``GET /admin``, a single page served from honeydue's own origin.

The page is markup only, under the API's strict Content-Security-Policy (scripts and styles from 'self', no
inline code): the vendor libraries (Preact, its hooks, htm, uPlot) come from ``static/admin/vendor/``,
installed and integrity-checked by ``scripts/fetch-admin-assets`` (never committed), and the console itself is
our own readable ``static/admin/app.js`` and ``app.css``, with no build step. Every URL is an absolute path on
our origin (``/admin/static/app.js``), so the page works from ``/admin`` and ``/admin/`` alike. The console
talks only to ``/graphql``; see docs/admin-console.md.
"""

from __future__ import annotations

import json
import logging
import os
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from honeydue.page_shell import render_document

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static" / "admin"
VENDOR_DIR = STATIC_DIR / "vendor"
PAGE_PATH = "/admin"
STATIC_URL_PATH = "/admin/static"

# Load order matters: hooks and htm's UMD builds use the ``preact`` global.
VENDOR_SCRIPTS = ("preact.min.js", "preact-hooks.min.js", "htm.min.js", "uplot.min.js")
VENDOR_STYLES = ("uplot.min.css",)


def load_integrity(vendor_dir: Path) -> dict[str, str] | None:
    """File name -> SRI hash from the fetch script's manifest; None when any file the page needs is missing.

    Read on every page load (it is tiny), so assets fetched after the server started are picked up.
    """
    try:
        files = json.loads((vendor_dir / "manifest.json").read_text(encoding="utf-8"))["files"]
        hashes = {name: str(files[name]["integrity"]) for name in (*VENDOR_SCRIPTS, *VENDOR_STYLES)}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((vendor_dir / name).is_file() for name in hashes):
        return None
    return hashes


def _vendor_url(name: str, integrity: str) -> str:
    # The hash doubles as a cache-busting version: vendor files are served as immutable.
    return f"{STATIC_URL_PATH}/vendor/{name}?v={escape(integrity.removeprefix('sha384-')[:16], quote=True)}"


def _page(hashes: dict[str, str]) -> str:
    styles = "\n".join(f'  <link rel="stylesheet" href="{_vendor_url(n, hashes[n])}" '
                       f'integrity="{escape(hashes[n], quote=True)}">' for n in VENDOR_STYLES)
    scripts = "\n".join(f'  <script src="{_vendor_url(n, hashes[n])}" integrity="{escape(hashes[n], quote=True)}" '
                        'defer></script>' for n in VENDOR_SCRIPTS)
    head = f"""  <meta name="robots" content="noindex">
  <title>honeydue admin</title>
  <link rel="icon" href="data:,">
{styles}
  <link rel="stylesheet" href="{STATIC_URL_PATH}/app.css">
{scripts}
  <script src="{STATIC_URL_PATH}/app.js" defer></script>"""
    body = """  <div id="app" data-endpoint="/graphql">
    <noscript>The admin console needs JavaScript. The GraphQL API at /graphql works without it.</noscript>
  </div>"""
    return render_document(head=head, body=body)


_MISSING_ASSETS_HTML = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>honeydue admin: assets not installed</title></head>
  <body>
    <h1>The admin console's assets are not installed</h1>
    <p>The console serves its JavaScript libraries from honeydue itself (no CDN), and they are not in
      <code>{vendor_dir}</code> yet. To install them (needs <code>npm</code>), run from the repository root:</p>
    <pre>scripts/fetch-admin-assets</pre>
    <p>or start the development server with <code>./dev serve</code>, which fetches them first. The Docker image
      installs them at build time. Then reload this page.</p>
  </body>
</html>
"""


async def admin_page(request: Request) -> HTMLResponse:
    """The console, or a page saying how to install its missing assets (always 200: never a blank page)."""
    hashes = load_integrity(VENDOR_DIR)
    if hashes is None:
        logger.warning("admin console assets are missing in %s; run scripts/fetch-admin-assets", VENDOR_DIR)
        return HTMLResponse(_MISSING_ASSETS_HTML.format(vendor_dir=escape(str(VENDOR_DIR))),
                            headers={"Cache-Control": "no-store"})
    return HTMLResponse(_page(hashes), headers={"Cache-Control": "no-store"})


class AdminStaticFiles(StaticFiles):
    """Vendor URLs are content-versioned (immutable); our own app.js and app.css revalidate."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendor = Path(full_path).resolve().is_relative_to(VENDOR_DIR.resolve())
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if vendor else "no-cache"
        return response


def admin_routes() -> list[BaseRoute]:
    """``/admin`` (and ``/admin/``) and ``/admin/static/…``, for the app factories of api and serve."""
    return [
        Route(PAGE_PATH, admin_page, methods=["GET", "HEAD"]),
        Route(PAGE_PATH + "/", admin_page, methods=["GET", "HEAD"]),
        Mount(STATIC_URL_PATH, app=AdminStaticFiles(directory=STATIC_DIR, check_dir=False), name="admin-static"),
    ]
