"""The password-reset page in a real browser, from the link of the email a real ``honeydue serve`` sent.

The server runs as a person starts it (``honeydue serve``, no PUBLIC_APP_URL: the links point at its own
address) and, without SMTP_HOST, writes each email to ``var/mail/*.eml``. The test asks for a reset over
GraphQL, takes the link out of the captured email, opens it in headless Chromium, types the new password
twice, clicks the button, reads the result page, and then signs in with the new password via ``login``.
Chromium must report no CSP violation, no console error and no request leaving the server's origin.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServeProcess
from tests.test_graphiql_browser import (
    VIOLATION_RECORDER_JS,
    _centre_of,
    _click,
    _evaluate,
    _wait_until,
    chromium_binary,  # noqa: F401  (a fixture)
    chromium_browser,
)

MAIL_WAIT_S = 60.0  # an upper bound for the in-process job to write the email, not a speed expectation
OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "purple giraffe umbrella"


def graphql(server: ServeProcess, query: str, variables: dict) -> dict:
    response = httpx.post(f"{server.base_url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def find_email(mail_dir: Path, to: str, subject: str) -> EmailMessage | None:
    for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to and message["Subject"] == subject:
            assert isinstance(message, EmailMessage)
            return message
    return None


async def email_with_subject(mail_dir: Path, to: str, subject: str) -> EmailMessage:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAIL_WAIT_S
    while loop.time() < deadline:
        message = await asyncio.to_thread(find_email, mail_dir, to, subject)
        if message is not None:
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email {subject!r} to {to} in {mail_dir}")


@pytest.mark.browser
async def test_reset_link_from_the_email_works_in_chromium(chromium_binary: str, honeydue_serve: ServeProcess) -> None:  # noqa: F811
    server = honeydue_serve
    address = "browser-reset@example.com"
    registered = graphql(server, """mutation($input: RegisterInput!) {
        register(input: $input) { token userErrors { code } } }""",
                         {"input": {"email": address, "password": OLD_PASSWORD, "displayName": "Bea"}})
    assert registered["data"]["register"]["userErrors"] == []
    asked = graphql(server, """mutation($input: RequestPasswordResetInput!) {
        requestPasswordReset(input: $input) { ok } }""", {"input": {"email": address}})
    assert asked["data"]["requestPasswordReset"]["ok"] is True

    message = await email_with_subject(server.workdir / "var" / "mail", address, "Reset your honeydue password")
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    links = re.findall(r"http://\S+/account/reset-password\?token=[A-Za-z0-9_-]+", text.get_content())
    # PUBLIC_APP_URL unset: `honeydue serve` links to its own address.
    assert len(links) == 1 and links[0].startswith(f"{server.base_url}/account/reset-password?token="), links
    link = links[0]

    async with chromium_browser(chromium_binary) as cdp:
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await cdp.call(f"{domain}.enable", session=session)
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER_JS}, session)
        await cdp.call("Page.navigate", {"url": link}, session)
        await _wait_until(cdp, session, "document.readyState === 'complete' && "
                          "document.querySelector('#new_password') !== null", "the reset form")
        # The stylesheet from our origin applied (a CSP-blocked one would leave the button unstyled).
        colour = await _evaluate(cdp, session,
                                 "getComputedStyle(document.querySelector('button')).backgroundColor")
        assert colour == "rgb(26, 107, 60)", colour
        before = await _evaluate(cdp, session, "window.__cspViolations")

        for field in ("#new_password", "#new_password_again"):
            box = await _wait_until(cdp, session, _centre_of(f"document.querySelector('{field}')"), field)
            await _click(cdp, session, box)
            await cdp.call("Input.insertText", {"text": NEW_PASSWORD}, session)
        button = await _wait_until(cdp, session, _centre_of("document.querySelector('button[type=submit]')"),
                                   "the submit button")
        await _click(cdp, session, button)
        result = await _wait_until(
            cdp, session,
            "(() => { const t = document.body ? document.body.innerText : '';"
            " return t.includes('Your password is changed') ? t : ''; })()",
            "the result page",
        )
        after = await _evaluate(cdp, session, "window.__cspViolations")

    assert address in result
    assert before == [] and after == [], (before, after)
    console, exceptions, urls = [], [], []
    for event in cdp.events:
        params = event.get("params", {})
        if event["method"] == "Log.entryAdded":
            console.append(f"{params['entry']['level']}: {params['entry']['text']}")
        elif event["method"] == "Runtime.consoleAPICalled":
            console.append(f"{params['type']}: {params['args']}")
        elif event["method"] == "Runtime.exceptionThrown":
            exceptions.append(str(params["exceptionDetails"]))
        elif event["method"] == "Network.requestWillBeSent":
            urls.append(params["request"]["url"])
    assert [line for line in console if line.startswith("error") or "Content Security Policy" in line] == []
    assert exceptions == []
    assert [url for url in urls if not url.startswith((server.base_url, "data:"))] == []
    assert f"{server.base_url}/account/static/account.css" in urls

    login = """mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"""
    signed_in = graphql(server, login, {"input": {"email": address, "password": NEW_PASSWORD}})
    assert signed_in["data"]["login"]["userErrors"] == [] and signed_in["data"]["login"]["token"]
    refused = graphql(server, login, {"input": {"email": address, "password": OLD_PASSWORD}})
    assert refused["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
