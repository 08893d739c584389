"""GraphiQL works in a real browser under the API's strict CSP, with assets served by honeydue itself.

Headless Chromium (Debian's ``chromium``) is driven over the DevTools protocol with a small client on the
``websockets`` package: it opens GraphiQL, types ``{ __typename }``, clicks the run button and reads the
result pane. It also records every request the page makes and every console message, so the test fails on a
CSP violation, a page error, or any request leaving our origin (there is no internet here, so the page can only
work with local assets anyway).

The server is a small self-contained Starlette app built from the real pieces (the page, the static mount, the
security middleware) and served by uvicorn in a thread. :func:`run_typename_in_graphiql` takes any base URL, so
the same check runs against ``honeydue serve``.

Skipped when Chromium is not installed, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

import honeydue.graphiql
from honeydue.graphiql import graphiql_static_mount, render_graphiql_page
from honeydue.security_headers import CONTENT_SECURITY_POLICY, apply_security, content_security_policy
from honeydue.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-graphiql-assets"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
)
# Upper bounds for waiting on the browser, not speed expectations: reaching one is a failure with a message.
STARTUP_LIMIT_S = 30.0
STEP_LIMIT_S = 30.0

# Recorded by the page itself from its first script on: CSP violations that never reach the console.
VIOLATION_RECORDER_JS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def find_chromium() -> str | None:
    """Path of the Chromium binary (Debian package ``chromium``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _require(condition: bool, what: str) -> None:
    """Skip locally, fail in CI: a CI run must not pass this test by skipping it."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} (required in CI)")
    pytest.skip(what)


@dataclass
class PageReport:
    """What happened in the browser while GraphiQL ran the query."""

    result_text: str
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    request_urls: list[str] = field(default_factory=list)


class CdpSession:
    """Minimal Chrome DevTools Protocol client over one browser websocket, with flattened target sessions."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event_arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                self.events.append(message)
                self._event_arrived.set()

    async def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self._ws.send(json.dumps(message))
        reply = await asyncio.wait_for(future, STEP_LIMIT_S)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    async def wait_for_event(self, method: str) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if event["method"] == method:
                        return event
                self._event_arrived.clear()
                await self._event_arrived.wait()

        return await asyncio.wait_for(scan(), STEP_LIMIT_S)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self._reader


@contextlib.asynccontextmanager
async def chromium_browser(binary: str) -> AsyncIterator[CdpSession]:
    """Start headless Chromium with a throwaway profile and yield a CDP client connected to it."""
    with tempfile.TemporaryDirectory(prefix="honeydue-chromium-", ignore_cleanup_errors=True) as profile:
        # Own process group, so stopping it also stops the renderer and helper processes it forked.
        process = await asyncio.create_subprocess_exec(
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stderr is not None
        stderr_drain = asyncio.create_task(process.stderr.read())
        try:
            ws_url = await _devtools_url(Path(profile), process, stderr_drain)
            async with websockets.connect(ws_url, max_size=None) as ws:
                cdp = CdpSession(ws)
                try:
                    yield cdp
                finally:
                    await cdp.close()
        finally:
            await _stop_process_group(process)
            stderr_drain.cancel()


async def _stop_process_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STARTUP_LIMIT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _read_devtools_port_file(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def _devtools_url(profile: Path, process: asyncio.subprocess.Process, stderr_drain: asyncio.Task[bytes]) -> str:
    """Chromium writes the port it picked (``--remote-debugging-port=0``) and the ws path to DevToolsActivePort."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_LIMIT_S
    while loop.time() < deadline:
        if process.returncode is not None:
            output = (await stderr_drain).decode(errors="replace")
            raise RuntimeError(f"chromium exited with {process.returncode}: {output}")
        lines = await asyncio.to_thread(_read_devtools_port_file, profile / "DevToolsActivePort")
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


async def _evaluate(cdp: CdpSession, session: str, expression: str) -> Any:
    result = await cdp.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


async def _wait_until(cdp: CdpSession, session: str, expression: str, what: str) -> Any:
    """Poll a page expression until it is truthy; fail naming ``what`` when the step limit is reached."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_LIMIT_S
    while True:
        value = await _evaluate(cdp, session, expression)
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _centre_of(element_expression: str) -> str:
    """Page expression giving the viewport centre of an element, or null while it is not there."""
    return (
        f"(() => {{ const e = {element_expression}; if (!e) return null;"
        " const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
    )


async def _click(cdp: CdpSession, session: str, point: dict[str, float]) -> None:
    """A real left click (press and release) at a viewport point."""
    for kind in ("mousePressed", "mouseReleased"):
        await cdp.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": point["x"], "y": point["y"], "button": "left", "clickCount": 1},
            session,
        )


async def run_typename_in_graphiql(binary: str, base_url: str) -> PageReport:
    """Open ``{base_url}/graphql`` in Chromium, type ``{ __typename }``, click run, open a dialog, and report."""
    async with chromium_browser(binary) as cdp:
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await cdp.call(f"{domain}.enable", session=session)
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER_JS}, session)

        await cdp.call("Page.navigate", {"url": f"{base_url}/graphql"}, session)
        await cdp.wait_for_event("Page.loadEventFired")
        editor = "document.querySelector('.graphiql-query-editor .CodeMirror')"
        await _wait_until(cdp, session, f"{editor} !== null", "GraphiQL's query editor to render")

        # Type the query as a person would: focus the editor, select everything, type over it.
        await _evaluate(cdp, session, f"{editor}.CodeMirror.focus(), {editor}.CodeMirror.execCommand('selectAll')")
        await cdp.call("Input.insertText", {"text": "{ __typename }"}, session)
        typed = await _evaluate(cdp, session, f"{editor}.CodeMirror.getValue()")
        assert typed == "{ __typename }"

        # Click the run button with real mouse events at its centre.
        box = await _wait_until(
            cdp, session, _centre_of("document.querySelector('.graphiql-execute-button')"), "the run button"
        )
        await _click(cdp, session, box)
        result_text = await _wait_until(
            cdp,
            session,
            "(() => { const r = document.querySelector('.graphiql-response .CodeMirror');"
            " const t = r ? r.CodeMirror.getValue() : ''; return t.includes('__typename') ? t : ''; })()",
            "a result in GraphiQL's response pane",
        )

        # Open the settings dialog: GraphiQL's dialogs add a <style> element at run time, which the CSP must
        # admit through the page's nonce rather than report as a violation.
        settings_button = await _wait_until(
            cdp,
            session,
            _centre_of("document.querySelector('button[aria-label=\"Open settings dialog\"]')"),
            "the settings button",
        )
        await _click(cdp, session, settings_button)
        await _wait_until(cdp, session, "document.querySelector('[role=dialog]') !== null", "the settings dialog")
        violations = await _evaluate(cdp, session, "window.__cspViolations")

    report = PageReport(result_text=result_text, csp_violations=list(violations))
    for event in cdp.events:
        params = event.get("params", {})
        if event["method"] == "Log.entryAdded":
            entry = params["entry"]
            report.console.append(f"{entry['level']} {entry.get('source')}: {entry['text']}")
        elif event["method"] == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            report.console.append(f"{params['type']} console: {text}")
        elif event["method"] == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            report.exceptions.append(str(details.get("exception", {}).get("description", details.get("text"))))
        elif event["method"] == "Network.requestWillBeSent":
            report.request_urls.append(params["request"]["url"])
    return report


# --- the self-contained server: real page, static mount and middleware around a one-field schema ---------


@strawberry.type(name="Query")
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class _LocalGraphiQL(GraphQL):
    """Strawberry's ASGI view with its CDN page replaced by honeydue's self-hosted one."""

    async def render_graphql_ide(self, request: Request) -> Response:
        return render_graphiql_page(request)


def build_demo_app() -> Starlette:
    graphql_view = _LocalGraphiQL(strawberry.Schema(query=_Query))
    app = Starlette(routes=[Route("/graphql", graphql_view), graphiql_static_mount()])
    apply_security(app, load_settings({}))
    return app


@contextlib.contextmanager
def serve_in_thread(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    binary = find_chromium()
    _require(binary is not None, "chromium is not installed (Debian: apt-get install -y chromium)")
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def graphiql_assets() -> None:
    """Install the vendor assets the way a developer does (a no-op when they are current)."""
    if shutil.which("npm") is None:
        # Without npm, assets installed earlier (say, in an image) still serve.
        present = honeydue.graphiql.load_vendor_assets(honeydue.graphiql.VENDOR_DIR) is not None
        _require(present, "GraphiQL's assets are not installed and npm is missing to fetch them")
        return
    subprocess.run([str(FETCH_SCRIPT)], check=True, cwd=REPO_ROOT, timeout=300)


@pytest.fixture(scope="module")
def demo_base_url(graphiql_assets: None) -> Iterator[str]:
    with serve_in_thread(build_demo_app()) as base_url:
        yield base_url


@pytest.mark.browser
async def test_graphiql_runs_a_query_under_the_csp(chromium_binary: str, demo_base_url: str) -> None:
    report = await run_typename_in_graphiql(chromium_binary, demo_base_url)

    assert '"__typename": "Query"' in report.result_text, report.result_text
    assert json.loads(report.result_text) == {"data": {"__typename": "Query"}}
    csp_console = [line for line in report.console if "Content Security Policy" in line]
    assert report.csp_violations == [] and csp_console == [], (report.csp_violations, csp_console)
    assert report.exceptions == [], report.exceptions
    errors = [line for line in report.console if line.startswith("error")]
    assert errors == [], errors
    foreign = [url for url in report.request_urls if not url.startswith((demo_base_url, "data:"))]
    assert foreign == [], foreign
    assert any(url.startswith(f"{demo_base_url}/static/graphiql/vendor/graphiql.min.js") for url in report.request_urls)


# --- the page and static files without a browser ------------------------------------------------------------


class _PageMarkup(HTMLParser):
    """Collects what could run or style the page: script/link URLs, inline script/style, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes or any(name.startswith("on") for name in attributes):
            self.inline.append(f"{tag} attribute")
        if tag == "style":
            self.inline.append("style element")
        if tag == "script":
            self._in_script = True
            if not attributes.get("src"):
                self.inline.append("script without src")
            else:
                self.urls.append(str(attributes["src"]))
        if tag == "link" and attributes.get("href"):
            self.urls.append(str(attributes["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script body")


def _fake_vendor(directory: Path) -> None:
    directory.mkdir()
    names = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css")
    for name in names:
        (directory / name).write_text(f"/* {name} */")
    manifest = {"files": {name: {"integrity": f"sha384-{name}"} for name in names}}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _page_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_demo_app()), base_url="http://testserver")


async def test_page_loads_only_our_own_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(honeydue.graphiql, "VENDOR_DIR", tmp_path / "vendor")
    _fake_vendor(tmp_path / "vendor")
    async with _page_client() as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    markup = _PageMarkup()
    markup.feed(response.text)
    assert markup.inline == []
    assert markup.urls and all(url.startswith("/static/graphiql/") or url == "data:," for url in markup.urls)
    assert '<script src="/static/graphiql/app.js" defer></script>' in response.text
    assert 'integrity="sha384-graphiql.min.js"' in response.text
    # The page's own CSP is the API's, plus a nonce for the <style> GraphiQL's dialogs insert.
    nonce = response.text.split('data-style-nonce="', 1)[1].split('"', 1)[0]
    assert len(nonce) >= 16
    assert response.headers["Content-Security-Policy"] == content_security_policy(style_nonce=nonce)
    assert response.headers["Cache-Control"] == "no-store"


async def test_page_without_assets_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(honeydue.graphiql, "VENDOR_DIR", tmp_path / "vendor")
    with caplog.at_level(logging.WARNING, logger="honeydue.graphiql"):
        async with _page_client() as client:
            response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "scripts/fetch-graphiql-assets" in response.text and "./dev serve" in response.text
    assert "<script" not in response.text
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert any("fetch-graphiql-assets" in record.getMessage() for record in caplog.records)


async def test_static_cache_headers(graphiql_assets: None) -> None:
    async with _page_client() as client:
        own = await client.get("/static/graphiql/app.js")
        vendor = await client.get("/static/graphiql/vendor/graphiql.min.js")
    assert own.status_code == 200 and own.headers["Cache-Control"] == "no-cache"
    assert vendor.status_code == 200 and vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert vendor.headers["X-Content-Type-Options"] == "nosniff"
    assert vendor.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
