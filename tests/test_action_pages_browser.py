"""A reminder's "Done" and "Snooze 1 day" buttons in a real browser, from the email a real ``honeydue`` wrote.

A ``honeydue serve`` of this module's own (``PUBLIC_APP_URL`` set to its address, SQLite, no SMTP_HOST: emails
land in ``var/mail/*.eml``) holds a verified user with two tasks due today and a reminder hour of now; then
``honeydue jobs run send_due_reminders`` sends the reminders as the hourly job would. The test takes each email's
link, opens it in headless Chromium (once with JavaScript disabled, once enabled), checks that opening it did
nothing, clicks the button and reads the confirmation. Chromium must report no CSP violation, no console error
and no request leaving the server's origin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import ServeProcess, free_port, start_serve, stop_serve
from tests.test_account_pages_browser import email_with_subject, graphql
from tests.test_graphiql_browser import (
    VIOLATION_RECORDER_JS,
    CdpSession,
    _centre_of,
    _click,
    _evaluate,
    _wait_until,
    chromium_binary,  # noqa: F401  (a fixture)
    chromium_browser,
)
from tests.wall_clock import HOUR, await_clear_of_edge

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ADDRESS = "browser-actions@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def actions_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    port = free_port()
    server = start_serve(tmp_path_factory.mktemp("actions-serve"), port=port,
                         env_overrides={"PUBLIC_APP_URL": f"http://127.0.0.1:{port}"})
    yield server
    stop_serve(server)


def _gql(server: ServeProcess, query: str, variables: dict, token: str | None = None) -> dict:
    if token is None:
        return graphql(server, query, variables)
    response = httpx.post(f"{server.base_url}/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


JOB_TIMEOUT = 300
JOB_ROOM = JOB_TIMEOUT + 30  # the job's run plus the set-up before it, clear of the hour's end


def run_job(server: ServeProcess, name: str) -> None:
    """``honeydue jobs run NAME`` against the server's database, as an operator would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"HONEYDUE_VAR_DIR": str(server.workdir / "var"), "LOG_FORMAT": "text",
                "PUBLIC_APP_URL": server.base_url})
    done = subprocess.run([sys.executable, "-m", "honeydue.cli", "jobs", "run", name], cwd=server.workdir, env=env,
                          capture_output=True, text=True, timeout=JOB_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr


async def reminder_links(server: ServeProcess) -> tuple[dict[str, dict[str, str]], dict[str, str], str]:
    """A verified user with two tasks due today, reminded now: the Done and Snooze links of each reminder by
    task title, the tasks' ids by title, and the user's session token."""
    registered = _gql(server, """mutation($input: RegisterInput!) {
        register(input: $input) { token userErrors { code } } }""",
                      {"input": {"email": ADDRESS, "password": PASSWORD, "displayName": "Bea"}})
    token = registered["data"]["register"]["token"]
    mail_dir = server.workdir / "var" / "mail"
    verification = await email_with_subject(mail_dir, ADDRESS, "Confirm your email address for honeydue")
    text = verification.get_body(preferencelist=("plain",))
    assert text is not None
    verify_token = re.findall(r"/account/verify-email\?token=([A-Za-z0-9_-]+)", text.get_content())[0]
    async with httpx.AsyncClient(timeout=30) as client:
        verified = await client.post(f"{server.base_url}/account/verify-email", data={"token": verify_token})
    assert verified.status_code == 200, verified.text

    home = _gql(server, """mutation($input: CreateResidenceInput!) {
        createResidence(input: $input) { residence { id } userErrors { code } } }""",
                {"input": {"name": "Lake house", "timezone": "UTC"}}, token)["createResidence"]["residence"]["id"]
    # The job reads the wall clock: it must run in the hour the preference names and on the tasks' due date.
    today = (await await_clear_of_edge(HOUR, needed=JOB_ROOM)).date().isoformat()
    task_ids = {}
    for title in ("Water the plants", "Descale the kettle"):
        created = _gql(server, """mutation($input: CreateTaskInput!) {
            createTask(input: $input) { task { id } userErrors { code } } }""",
                       {"input": {"residenceId": home, "title": title, "frequency": "WEEKLY", "dueDate": today}},
                       token)
        task_ids[title] = created["createTask"]["task"]["id"]
    hour = datetime.now(UTC).hour
    _gql(server, """mutation($input: UpdateNotificationPreferencesInput!) {
        updateNotificationPreferences(input: $input) { userErrors { code } } }""",
         {"input": {"preferences": [{"type": "TASK_DUE_SOON", "enabled": True, "hourOfDay": hour}]}}, token)
    run_job(server, "send_due_reminders")
    links = {}
    for title in ("Water the plants", "Descale the kettle"):
        message = await email_with_subject(mail_dir, ADDRESS, f"{title} is due today")
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found = dict(re.findall(r"^(Done|Snooze 1 day): (\S+)\r?$", body.get_content(), re.MULTILINE))
        assert set(found) == {"Done", "Snooze 1 day"}, body.get_content()
        assert all(url.startswith(f"{server.base_url}/actions/") for url in found.values())
        links[title] = found
    return links, task_ids, token


TASK = "query($id: ID!) { task(id: $id) { title dueDate snoozedUntil lastCompletedAt } }"


async def click_through(cdp: CdpSession, link: str, *, javascript: bool, expect: str) -> tuple[str, list[str]]:
    """Open ``link``, click the page's one button, wait for ``expect``; the result text and CSP violations seen."""
    target = await cdp.call("Target.createTarget", {"url": "about:blank"})
    attached = await cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
    session = attached["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        await cdp.call(f"{domain}.enable", session=session)
    if javascript:
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER_JS}, session)
    else:
        await cdp.call("Emulation.setScriptExecutionDisabled", {"value": True}, session)
    await cdp.call("Page.navigate", {"url": link}, session)
    await _wait_until(cdp, session, "document.readyState === 'complete' && "
                      "document.querySelector('button[type=submit]') !== null", "the confirmation page")
    # The stylesheet from our origin applied (a CSP-blocked one would leave the button unstyled).
    colour = await _evaluate(cdp, session, "getComputedStyle(document.querySelector('button')).backgroundColor")
    assert colour == "rgb(26, 107, 60)", colour
    violations = list(await _evaluate(cdp, session, "window.__cspViolations") or []) if javascript else []
    button = await _wait_until(cdp, session, _centre_of("document.querySelector('button[type=submit]')"), "button")
    await _click(cdp, session, button)
    result = await _wait_until(
        cdp, session,
        f"(() => {{ const t = document.body ? document.body.innerText : '';"
        f" return t.includes({expect!r}) ? t : ''; }})()",
        "the result page")
    if javascript:
        violations += list(await _evaluate(cdp, session, "window.__cspViolations") or [])
    return str(result), violations


async def test_reminder_buttons_work_in_chromium_with_and_without_javascript(
        chromium_binary: str, actions_serve: ServeProcess) -> None:  # noqa: F811
    server = actions_serve
    links, task_ids, token = await reminder_links(server)
    water, kettle = links["Water the plants"], links["Descale the kettle"]
    today = datetime.now(UTC).date()

    async with chromium_browser(chromium_binary) as cdp:
        done_text, done_violations = await click_through(cdp, water["Done"], javascript=False,
                                                         expect="is done")
        snooze_text, snooze_violations = await click_through(cdp, kettle["Snooze 1 day"], javascript=True,
                                                             expect="snoozed until")

    assert "\u201cWater the plants\u201d is done." in done_text and "Next due" in done_text
    assert "Reminders for \u201cDescale the kettle\u201d are snoozed until" in snooze_text
    assert done_violations == [] and snooze_violations == []
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
    assert [url for url in urls if not url.startswith((server.base_url, "data:", "about:"))] == []
    assert f"{server.base_url}/account/static/account.css" in urls

    watered = _gql(server, TASK, {"id": task_ids["Water the plants"]}, token)["task"]
    assert watered["lastCompletedAt"] is not None and watered["dueDate"] > today.isoformat()
    kettle_now = _gql(server, TASK, {"id": task_ids["Descale the kettle"]}, token)["task"]
    assert kettle_now["lastCompletedAt"] is None and kettle_now["dueDate"] == today.isoformat()
    assert kettle_now["snoozedUntil"] is not None and kettle_now["snoozedUntil"] > today.isoformat()
    # Each link did its one thing, once; the other link of each email was not used.
    async with httpx.AsyncClient(timeout=30, headers={"Accept": "application/json"}) as client:
        assert (await client.post(water["Done"])).status_code == 410
        assert (await client.post(kettle["Snooze 1 day"])).status_code == 410
        assert (await client.get(kettle["Done"])).status_code == 200
