"""The admin console in headless Chromium against a real ``honeydue serve`` that mails through a real SMTP server.

An admin made with ``honeydue createadmin`` signs in at ``/admin``, looks at every screen, searches a user,
disables them (their token is then refused by ``/graphql``), sends them a reset email (it arrives at the test's
SMTP server), finds both actions in the audit log and signs out. A non-admin who signs in is told plainly that
the console is not for them. Every screen is saved as a PNG screenshot (``HONEYDUE_TEST_ARTIFACTS`` names the
directory, else the test's tmp directory; the paths are printed), at 1280 px wide and one at phone width. Any
CSP violation, console error, uncaught exception or request leaving the server's origin fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from honeydue.admin_console import VENDOR_DIR, load_integrity
from tests.conftest import ServeProcess, start_serve, stop_serve
from tests.plugins.mail import SmtpServer
from tests.test_graphiql_browser import (
    VIOLATION_RECORDER_JS,
    CdpSession,
    _centre_of,
    _click,
    _evaluate,
    _require,
    _wait_until,
    chromium_binary,  # noqa: F401  (a fixture)
    chromium_browser,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "admin console pass 1"
PASSWORD = "correct horse battery"
MAIL_WAIT_S = 60.0  # an upper bound for the in-process job to deliver the email, not a speed expectation

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin_assets() -> None:
    """Install the console's vendor libraries as a developer does (a no-op when they are current)."""
    if shutil.which("npm") is None:
        # Without npm, libraries installed earlier (say, in an image) still serve.
        present = load_integrity(VENDOR_DIR) is not None
        _require(present, "the admin console's libraries are not installed and npm is missing to fetch them")
        return
    subprocess.run([str(REPO_ROOT / "scripts" / "fetch-admin-assets")], check=True, cwd=REPO_ROOT, timeout=300)


@pytest.fixture
def console_server(tmp_path: Path, smtp_server: SmtpServer, admin_assets: None) -> Iterator[ServeProcess]:
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server.port), "SMTP_STARTTLS": "false"}
    server = start_serve(tmp_path / "serve", env)
    try:
        made = subprocess.run(
            [sys.executable, "-m", "honeydue.cli", "createadmin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
             "--display-name", "Ops"],
            cwd=server.workdir, capture_output=True, text=True, timeout=120,
            env={**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))},
                 "HONEYDUE_VAR_DIR": str(server.workdir / "var"), **env})
        assert made.returncode == 0, made.stderr
        yield server
    finally:
        stop_serve(server)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("HONEYDUE_TEST_ARTIFACTS") or tmp_path / "artifacts") / "admin-console"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def graphql(server: ServeProcess, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{server.base_url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def register(server: ServeProcess, email: str, name: str) -> str:
    result = graphql(server, """mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }""",
                     {"i": {"email": email, "password": PASSWORD, "displayName": name}})
    assert result["data"]["register"]["userErrors"] == [], result
    return str(result["data"]["register"]["token"])


class Page:
    """One Chromium tab on the console, with the few gestures the test needs."""

    def __init__(self, cdp: CdpSession, session: str, artifacts: Path) -> None:
        self.cdp, self.session, self.artifacts = cdp, session, artifacts
        self.shots: list[Path] = []

    async def wait(self, expression: str, what: str) -> Any:
        return await _wait_until(self.cdp, self.session, expression, what)

    async def text_appears(self, text: str) -> None:
        await self.wait(f"document.body && document.body.innerText.includes({json.dumps(text)})", repr(text))

    async def click(self, selector_expression: str, what: str) -> None:
        # Scrolled into view first: a click is at viewport coordinates.
        await self.wait(f"(() => {{ const e = {selector_expression}; if (e) e.scrollIntoView({{block: 'center'}});"
                        " return Boolean(e); })()", what)
        box = await self.wait(_centre_of(selector_expression), what)
        await _click(self.cdp, self.session, box)

    async def click_button(self, label: str, within: str = "document") -> None:
        await self.click(f"[...{within}.querySelectorAll('button')].find(b => b.innerText.trim() === "
                         f"{json.dumps(label)})", f"the {label!r} button")

    async def type_into(self, selector: str, text: str) -> None:
        await self.click(f"document.querySelector({json.dumps(selector)})", selector)
        await self.cdp.call("Input.insertText", {"text": text}, self.session)

    async def press(self, key: str, code: str, key_code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.cdp.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                          "windowsVirtualKeyCode": key_code}, self.session)

    async def go(self, label: str, title: str) -> None:
        await self.click(f"[...document.querySelectorAll('nav a')].find(a => a.innerText.trim() === "
                         f"{json.dumps(label)})", f"the {label!r} link")
        await self.wait(f"document.querySelector('h1') && document.querySelector('h1').innerText === "
                        f"{json.dumps(title)} && !document.body.innerText.includes('Loading…')", title)

    async def screenshot(self, name: str) -> None:
        shot = await self.cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                   self.session)
        path = self.artifacts / f"{len(self.shots) + 1:02d}-{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        self.shots.append(path)

    async def width(self, width: int, height: int, mobile: bool = False) -> None:
        await self.cdp.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                   "deviceScaleFactor": 1, "mobile": mobile},
                            self.session)


async def open_page(cdp: CdpSession, url: str, artifacts: Path) -> Page:
    target = await cdp.call("Target.createTarget", {"url": "about:blank"})
    attached = await cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
    session = attached["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        await cdp.call(f"{domain}.enable", session=session)
    await cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER_JS}, session)
    page = Page(cdp, session, artifacts)
    await page.width(1280, 900)
    await cdp.call("Page.navigate", {"url": url}, session)
    await page.wait("document.readyState === 'complete' && document.querySelector('#email') !== null",
                    "the sign-in form")
    return page


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.type_into("#email", email)
    await page.type_into("#password", password)
    await page.click_button("Sign in")


def problems(cdp: CdpSession, base_url: str) -> dict[str, list[str]]:
    """Console errors, exceptions and foreign requests Chromium reported while the test ran."""
    console, exceptions, foreign = [], [], []
    for event in cdp.events:
        params = event.get("params", {})
        if event["method"] == "Log.entryAdded":
            entry = params["entry"]
            if entry["level"] == "error" or "Content Security Policy" in entry["text"]:
                console.append(f"{entry['level']}: {entry['text']}")
        elif event["method"] == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            console.append(f"{params['type']}: {params['args']}")
        elif event["method"] == "Runtime.exceptionThrown":
            exceptions.append(str(params["exceptionDetails"]))
        elif event["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith((base_url, "data:", "about:")):
                foreign.append(url)
    return {"console": console, "exceptions": exceptions, "foreign": foreign}


async def test_an_admin_disables_a_user_sends_a_reset_and_finds_both_in_the_audit_log(
    chromium_binary: str, console_server: ServeProcess, smtp_server: SmtpServer, artifacts: Path,  # noqa: F811
) -> None:
    server = console_server
    victim_email = "mallory@example.com"
    victim_token = register(server, victim_email, "Mallory")
    register(server, "someone.else@example.com", "Someone")
    created = graphql(server, """mutation($i: CreateResidenceInput!) { createResidence(input: $i) {
        residence { id } userErrors { code } } }""", {"i": {"name": "Mallory's flat"}}, victim_token)
    assert created["data"]["createResidence"]["userErrors"] == [], created

    async with chromium_browser(chromium_binary) as cdp:
        page = await open_page(cdp, f"{server.base_url}/admin", artifacts)
        await page.screenshot("sign-in")
        # Keyboard: the first Tab lands on a form field, and focus is drawn (an outline, not "none").
        await page.press("Tab", "Tab", 9)
        focused = await _evaluate(cdp, page.session, "document.activeElement.id")
        outline = await _evaluate(cdp, page.session, "getComputedStyle(document.activeElement).outlineStyle")
        assert focused == "email" and outline not in ("none", ""), (focused, outline)
        await sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)

        # Dashboard: the counts, both charts drawn by uPlot, and the job table.
        await page.wait("document.querySelectorAll('.chart-box canvas').length === 2", "the two charts")
        await page.text_appears("Periodic jobs")
        await page.text_appears("reconcile_storage")
        storage = await _evaluate(cdp, page.session, "[window.sessionStorage.length, window.localStorage.length]")
        assert storage == [1, 0], storage  # the token is in sessionStorage, nothing in localStorage
        await page.screenshot("dashboard")

        # Run a periodic job by hand: honeydue serve runs it in process, and its run is recorded for admin.jobs.
        await page.click("[...document.querySelectorAll('button')].find(b => b.innerText.includes('Run now') && "
                         "b.innerText.includes('expire_idempotency_keys'))", "Run now for expire_idempotency_keys")
        await page.wait("document.querySelector('dialog[open]')", "the confirmation dialog")
        await page.click_button("Run now", "document.querySelector('dialog[open]')")
        await page.text_appears("expire_idempotency_keys was sent to the workers.")
        admin_token = graphql(server, "mutation($i: LoginInput!) { login(input: $i) { token } }",
                              {"i": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}})["data"]["login"]["token"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAIL_WAIT_S
        while True:
            jobs = graphql(server, "{ admin { jobs { name lastSuccessAt } } }", token=admin_token)
            if {j["name"]: j for j in jobs["data"]["admin"]["jobs"]}["expire_idempotency_keys"]["lastSuccessAt"]:
                break
            assert loop.time() < deadline, jobs
            await asyncio.sleep(0.1)

        await page.go("Residences", "Residences")
        await page.text_appears("Mallory's flat")
        await page.screenshot("residences")
        await page.click("[...document.querySelectorAll('a')].find(a => a.innerText.trim() === \"Mallory's flat\")",
                         "the residence link")
        await page.wait("document.querySelector('h1').innerText === \"Mallory's flat\"", "the residence page")
        await page.text_appears("OWNER")
        await page.screenshot("residence")

        # Users: search, open the user, disable them with a reason.
        await page.go("Users", "Users")
        await page.type_into("#search", "mallory")
        await page.click_button("Search")
        await page.wait("document.querySelectorAll('tbody tr').length === 1", "one search result")
        await page.screenshot("users-search")
        await page.click(f"[...document.querySelectorAll('a')].find(a => a.innerText === {json.dumps(victim_email)})",
                         "the user link")
        await page.wait(f"document.querySelector('h1').innerText === {json.dumps(victim_email)} && "
                        "document.body.innerText.includes('Sessions')", "the user page")
        await page.screenshot("user")

        await page.click_button("Disable account")
        await page.wait("document.querySelector('dialog[open]')", "the confirmation dialog")
        await page.type_into("#confirm-reason", "spam from the browser test")
        await page.screenshot("confirm-disable")
        await page.click_button("Disable account", "document.querySelector('dialog[open]')")
        await page.text_appears(f"{victim_email} is disabled.")
        refused = graphql(server, "{ me { id } }", token=victim_token)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", refused

        await page.click_button("Send password reset")
        await page.wait("document.querySelector('dialog[open]')", "the confirmation dialog")
        await page.click_button("Send reset email", "document.querySelector('dialog[open]')")
        await page.text_appears(f"A password reset email is on its way to {victim_email}.")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAIL_WAIT_S
        while not [m for m in smtp_server.mailbox.messages() if m["To"] == victim_email
                   and m["Subject"] == "Reset your honeydue password"]:
            assert loop.time() < deadline, [(m["To"], m["Subject"]) for m in smtp_server.mailbox.messages()]
            await asyncio.sleep(0.1)
        await page.screenshot("user-after-actions")

        await page.go("Storage", "Storage")
        await page.text_appears("Last reconcile")
        await page.screenshot("storage")
        await page.go("Emails and deliveries", "Emails and deliveries")
        await page.text_appears("password_reset")
        await page.screenshot("emails")

        await page.go("Audit log", "Audit log")
        await page.text_appears("adminSendPasswordReset")
        await page.text_appears("adminSetUserDisabled")
        await page.text_appears("adminRunJob")
        await page.text_appears("spam from the browser test")
        await page.screenshot("audit-log")

        # A phone: the same screen, no sideways scrolling of the page itself (wide tables scroll in their box).
        await page.width(390, 844, mobile=True)
        await page.go("Dashboard", "Dashboard")
        await page.wait("document.querySelectorAll('.chart-box canvas').length === 2", "the charts on a phone")
        overflow = await _evaluate(cdp, page.session,
                                   "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        wide = await _evaluate(cdp, page.session, "[...document.querySelectorAll('body *')].filter(e => "
                               "e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                               ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + "
                               "Math.round(e.getBoundingClientRect().right)).join('; ')")
        assert overflow <= 0, (overflow, wide)
        await page.screenshot("dashboard-phone")
        await page.width(1280, 900)

        await page.click_button("Sign out")
        await page.wait("document.querySelector('#email') !== null", "the sign-in form after signing out")
        await page.text_appears("You are signed out.")
        assert await _evaluate(cdp, page.session, "window.sessionStorage.length") == 0
        violations = await _evaluate(cdp, page.session, "window.__cspViolations")
        found = problems(cdp, server.base_url)

    print("admin console screenshots:", *page.shots, sep="\n  ")
    assert violations == [], violations
    assert found == {"console": [], "exceptions": [], "foreign": []}, found


async def test_a_non_admin_is_told_the_console_is_not_for_them(
    chromium_binary: str, console_server: ServeProcess, artifacts: Path,  # noqa: F811
) -> None:
    server = console_server
    register(server, "plain@example.com", "Plain")
    async with chromium_browser(chromium_binary) as cdp:
        page = await open_page(cdp, f"{server.base_url}/admin", artifacts)
        await sign_in(page, "plain@example.com", PASSWORD)
        await page.wait("document.querySelector('[role=alert]') && document.querySelector('[role=alert]')"
                        ".innerText.includes('not an administrator')", "the refusal")
        await page.screenshot("non-admin-refused")
        assert await _evaluate(cdp, page.session, "document.querySelector('nav') === null")
        assert await _evaluate(cdp, page.session, "window.sessionStorage.length") == 0
        violations = await _evaluate(cdp, page.session, "window.__cspViolations")
        found = problems(cdp, server.base_url)
    print("admin console screenshots:", *page.shots, sep="\n  ")
    assert violations == [], violations
    assert found == {"console": [], "exceptions": [], "foreign": []}, found
    # The session the refused sign-in made was ended at once.
    sessions = graphql(server, """mutation($i: LoginInput!) { login(input: $i) { token } }""",
                       {"i": {"email": "plain@example.com", "password": PASSWORD}})["data"]["login"]["token"]
    listed = graphql(server, "{ me { sessions { id } } }", token=sessions)["data"]["me"]["sessions"]
    assert len(listed) == 2  # the register session and this one; the console's was logged out
