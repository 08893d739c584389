"""``/actions/{token}``: where a notification's "Done" and "Snooze 1 day" links lead.

* ``POST`` (bare and empty: a push action, a webhook consumer, the page's own button) acts, through
  ``resolvers.notification_actions``. A client that asks for ``application/json`` (or for nothing in particular)
  gets ``200`` with ``{ok, action, message, task}``; a browser (``Accept: text/html``) gets a small page saying
  what was done.
* ``GET`` never acts: mail scanners and link previews fetch every link of a message. It shows what the link
  would do and a button, a plain form that POSTs to the same address, so it works without JavaScript.
* A link that is used, expired or out of date answers ``410`` and does nothing; one that is not ours ``404``;
  a user who lost the EDITOR role ``403``; each with a page or JSON (``{ok: false, error, message}``).

The pages share the account pages' layout and stylesheet (``honeydue.account_pages``), so the API's strict CSP
holds unchanged: no script, no inline style, forms post only to 'self'. Requests are counted per client address
(``ACTIONS_PER_ADDRESS`` per ``WINDOW_SECONDS``), GET and POST alike; the tokens are far too large to guess, the
limit keeps a flood of requests off the database.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from honeydue import clock
from honeydue.account_pages import STYLESHEET
from honeydue.client_address import client_address, limit_key
from honeydue.models import NotificationAction, Task, TaskFrequency
from honeydue.notification_actions import ACTIONS_PATH, SNOOZE_DAYS
from honeydue.page_shell import shell_loader
from honeydue.schedule import local_today
from honeydue.services import services_of
from resolvers import notification_actions as actions
from resolvers.notification_actions import Acted, ActionRefused

ACTIONS_PER_ADDRESS = 60
WINDOW_SECONDS = 600
RATE_LIMITED = "Too many requests from your address; try again in a few minutes."
NO_STORE = {"Cache-Control": "no-store"}


@cache
def _environment() -> Environment:
    return Environment(
        # This package's pages first; the layout is the account pages', its document the shared shell.
        loader=ChoiceLoader([PackageLoader("honeydue", "templates/actions"),
                             PackageLoader("honeydue", "templates/account"), shell_loader()]),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def wants_json(request: Request) -> bool:
    """JSON unless the client asks for HTML and not for JSON (a browser's Accept names text/html)."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept or "text/html" not in accept


def _page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    base = request.base_url.path.rstrip("/")
    html = _environment().get_template(template).render(stylesheet=base + STYLESHEET, **context)
    # The URL holds a secret: no cache keeps the page, and (globally) no Referer carries the URL away.
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


TITLES = {NotificationAction.DONE: "Mark a task done", NotificationAction.SNOOZE: "Snooze a task's reminders"}
ERROR_TITLES = {403: "Not allowed", 404: "Link not valid", 409: "Not done", 410: "Link no longer works",
                429: "Slow down"}


def _refused(request: Request, status: int, reason: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": False, "error": reason, "message": message}, status_code=status, headers=NO_STORE)
    return _page(request, "result.html", status, title=ERROR_TITLES.get(status, "Not done"), tone="error",
                 message=message, detail="You can always do it in the honeydue app.")


def _quoted(task: Task) -> str:
    return f"\u201c{task.title}\u201d"


def _spoken(day: date | None) -> str:
    return f"{day:%A, %B} {day.day}, {day.year}" if day is not None else ""


async def _within_limit(request: Request) -> bool:
    limiter = services_of(request).rate_limiter
    return await limiter.hit(f"actions:addr:{limit_key(client_address(request.scope))}", ACTIONS_PER_ADDRESS,
                             WINDOW_SECONDS)


async def action_page(request: Request) -> Response:
    if not await _within_limit(request):
        return _refused(request, 429, "rate_limited", RATE_LIMITED)
    raw = request.path_params["token"]
    if request.method == "POST":
        return await _act(request, raw)
    now = clock.utc_now()
    try:
        found = await actions.pending(raw, now)
    except ActionRefused as refusal:
        return _refused(request, refusal.status, refusal.reason, refusal.message)
    task, where = found.task, found.residence.name
    if found.action == NotificationAction.DONE:
        question = f"Mark {_quoted(task)} in {where} as done?"
        detail = ("It is a one-off task: it will be marked done." if task.frequency == TaskFrequency.ONCE else
                  f"It is due {_spoken(task.due_date)}; it then moves on to its next due date.")
        button = "Mark done"
    else:
        until = local_today(found.residence.timezone, now) + timedelta(days=SNOOZE_DAYS)
        question = f"Snooze the reminders for {_quoted(task)} in {where} for 1 day?"
        detail = f"The task stays due {_spoken(task.due_date)}; its reminders start again on {_spoken(until)}."
        button = "Snooze 1 day"
    return _page(request, "confirm.html", title=TITLES[found.action], question=question, detail=detail,
                 button=button, action=request.url.path)


def _said(acted: Acted) -> tuple[str, str]:
    """What the answer says: the message, and a detail line."""
    task = acted.task
    if acted.action == NotificationAction.SNOOZE:
        return (f"Reminders for {_quoted(task)} are snoozed until {_spoken(acted.snoozed_until)}.",
                f"The task is still due {_spoken(task.due_date)}.")
    if task.completed:
        return f"{_quoted(task)} is done.", "It was a one-off task."
    return f"{_quoted(task)} is done.", f"Next due {_spoken(task.due_date)}."


async def _act(request: Request, raw: str) -> Response:
    try:
        acted = await actions.act(raw, clock.utc_now())
    except ActionRefused as refusal:
        return _refused(request, refusal.status, refusal.reason, refusal.message)
    message, detail = _said(acted)
    if wants_json(request):
        task = acted.task
        return JSONResponse({
            "ok": True,
            "action": acted.action.value,
            "message": message,
            "task": {
                "id": str(task.id),
                "title": task.title,
                "dueDate": task.due_date.isoformat() if task.due_date else None,
                "completed": task.completed,
                "snoozedUntil": task.snoozed_until.isoformat() if task.snoozed_until else None,
            },
        }, headers=NO_STORE)
    return _page(request, "result.html", title=TITLES[acted.action], tone="success", message=message, detail=detail)


def action_routes() -> list[BaseRoute]:
    """The action links' route, for ``honeydue api`` and ``honeydue serve`` (the stylesheet is the account
    pages' mount)."""
    return [Route(ACTIONS_PATH + "/{token}", action_page, methods=["GET", "POST"])]
