"""GraphiQL served entirely from honeydue's own origin.

Why not Strawberry's built-in page: it loads React and GraphiQL from a CDN and boots them with an inline
script, both of which the API's Content-Security-Policy forbids (scripts and styles from 'self' only, no
'unsafe-inline'). This page is markup only: the vendor files come from ``static/graphiql/vendor/`` (installed,
integrity-checked, by ``scripts/fetch-graphiql-assets``; never committed) and the boot code is our own
``static/graphiql/app.js``.

Wire it in by overriding ``render_graphql_ide`` of Strawberry's ASGI ``GraphQL`` view to return
:func:`render_graphiql_page`, and mount :func:`graphiql_static_mount` in the same app.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from honeydue.page_shell import render_document
from honeydue.security_headers import content_security_policy

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_URL_PATH = "/static/graphiql"

# Load order matters: GraphiQL's UMD bundle expects the React and ReactDOM globals.
VENDOR_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
VENDOR_STYLES = ("graphiql.min.css",)

_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"


@dataclass(frozen=True)
class VendorAsset:
    """One installed vendor file with its Subresource Integrity hash (``sha384-...``)."""

    name: str
    integrity: str


def load_vendor_assets(vendor_dir: Path) -> dict[str, VendorAsset] | None:
    """Read ``manifest.json`` written by the fetch script; None when any file the page needs is missing.

    Read on every page load (it is tiny) so assets fetched after the server started are picked up.
    """
    try:
        manifest = json.loads((vendor_dir / "manifest.json").read_text(encoding="utf-8"))
        files = manifest["files"]
        assets = {
            name: VendorAsset(name=name, integrity=str(files[name]["integrity"]))
            for name in (*VENDOR_SCRIPTS, *VENDOR_STYLES)
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((vendor_dir / name).is_file() for name in assets):
        return None
    return assets


def _static_base(request: Request) -> str:
    """URL path of the static mount, honouring a root path the app is served under."""
    return request.base_url.path.rstrip("/") + STATIC_URL_PATH


def _vendor_url(base: str, asset: VendorAsset) -> str:
    # The integrity hash doubles as a cache-busting version: vendor files are served as immutable.
    version = asset.integrity.removeprefix("sha384-")[:16]
    return f"{base}/vendor/{asset.name}?v={escape(version, quote=True)}"


def _graphiql_html(request: Request, assets: dict[str, VendorAsset], style_nonce: str) -> str:
    base = _static_base(request)
    styles = "\n".join(
        f'  <link rel="stylesheet" href="{_vendor_url(base, assets[name])}" '
        f'integrity="{escape(assets[name].integrity, quote=True)}">'
        for name in VENDOR_STYLES
    )
    scripts = "\n".join(
        f'  <script src="{_vendor_url(base, assets[name])}" '
        f'integrity="{escape(assets[name].integrity, quote=True)}" defer></script>'
        for name in VENDOR_SCRIPTS
    )
    endpoint = escape(request.url.path, quote=True)
    head = f"""  <title>honeydue GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{base}/graphiql.css">
{styles}
{scripts}
  <script src="{base}/app.js" defer></script>"""
    body = f"""  <div id="graphiql" data-endpoint="{endpoint}" data-style-nonce="{style_nonce}">
    <noscript>GraphiQL needs JavaScript. The API itself answers POST requests at this address.</noscript>
  </div>"""
    return render_document(head=head, body=body)


_MISSING_ASSETS_HTML = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>honeydue GraphiQL: assets not installed</title>
  </head>
  <body>
    <h1>GraphiQL assets are not installed</h1>
    <p>This page serves GraphiQL from honeydue itself (no CDN), and its JavaScript and CSS files are not in
      <code>{vendor_dir}</code> yet. To install them (needs <code>npm</code>), run from the repository root:</p>
    <pre>scripts/fetch-graphiql-assets</pre>
    <p>or start the development server with <code>./dev serve</code>, which fetches them first.
      The Docker image installs them at build time. Then reload this page.</p>
    <p>The GraphQL API works without them: send POST requests with a JSON body to this address.</p>
  </body>
</html>
"""


def render_graphiql_page(request: Request) -> HTMLResponse:
    """The GraphiQL page for ``GET /graphql``, or a page explaining how to install missing assets.

    Always 200: a browser user hitting the endpoint should read either GraphiQL or the fix, never a blank page.
    """
    assets = load_vendor_assets(VENDOR_DIR)
    if assets is None:
        logger.warning("GraphiQL vendor assets are missing in %s; run scripts/fetch-graphiql-assets", VENDOR_DIR)
        return HTMLResponse(_MISSING_ASSETS_HTML.format(vendor_dir=escape(str(VENDOR_DIR))))
    # GraphiQL's dialogs insert a <style> element at run time; app.js gives it this response's nonce.
    style_nonce = secrets.token_urlsafe(18)
    return HTMLResponse(
        _graphiql_html(request, assets, style_nonce),
        headers={
            "Content-Security-Policy": content_security_policy(style_nonce=style_nonce),
            "Cache-Control": "no-store",
        },
    )


class GraphiQLStaticFiles(StaticFiles):
    """Static files with cache headers: vendor URLs are content-versioned (immutable), our own files revalidate."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        is_vendor = Path(full_path).resolve().is_relative_to(VENDOR_DIR.resolve())
        response.headers["Cache-Control"] = _IMMUTABLE if is_vendor else _REVALIDATE
        return response


def graphiql_static_mount() -> Mount:
    """Mount serving ``/static/graphiql`` (our app.js and CSS, plus the installed vendor files)."""
    return Mount(STATIC_URL_PATH, app=GraphiQLStaticFiles(directory=STATIC_DIR), name="graphiql-static")
