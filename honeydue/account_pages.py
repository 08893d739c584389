"""The pages account emails link to: ``/account/reset-password``, ``/account/verify-email``, ``/account/confirm-email``.

Someone who opens the email on a laptop finishes there, without the app and without JavaScript: each page is
server-rendered HTML (Jinja2, autoescaped) with a plain form, styled by one stylesheet from our own origin
(``/account/static/account.css``), so the API's strict CSP holds unchanged (no inline script or style, no other
host, forms post only to 'self').

* GET never uses a token up: it shows a form (the new password twice; or one confirm button), so mail scanners
  and link previews that fetch the link change nothing. An unknown, used or expired token shows why instead.
* POST to the same path does the work through ``resolvers.account_links``, the very functions the GraphQL
  mutations call. The token in the form's hidden field is the whole authorisation (there are no cookies), so a
  forged cross-site POST achieves nothing without the emailed secret. A refused input re-renders the form with
  the message; every answer is a page, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from honeydue.page_shell import shell_loader
from honeydue.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from honeydue.ratelimit import RateLimiter
from honeydue.services import services_of
from honeydue.user_errors import Rejection, attempt
from resolvers import account_links

STATIC_DIR = Path(__file__).resolve().parent / "static" / "account"
STATIC_URL_PATH = "/account/static"
STYLESHEET = f"{STATIC_URL_PATH}/account.css"
# The largest form these pages take: a token and two passwords of at most 256 characters, URL-encoded.
MAX_FORM_BYTES = 8 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class FormRefused(Exception):
    """The POST body is not a form these pages take (wrong type, too large, not UTF-8)."""


@cache
def _environment() -> Environment:
    return Environment(
        loader=ChoiceLoader([PackageLoader("honeydue", "templates/account"), shell_loader()]),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    base = request.base_url.path.rstrip("/")
    html = _environment().get_template(template).render(stylesheet=base + STYLESHEET, **context)
    # The URL holds a secret: no cache keeps the page, and (globally) no Referer carries the URL away.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _link_not_valid(request: Request, title: str, what: str) -> HTMLResponse:
    return _page(request, "message.html", 400, title=title, tone="error",
                 message=account_links.INVALID_TOKEN_MESSAGE, detail=what)


def _limiter(request: Request) -> RateLimiter:
    return services_of(request).rate_limiter


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded fields of the body, read no further than ``MAX_FORM_BYTES``."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise FormRefused()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused()
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise FormRefused() from None


def _refused_form(request: Request, title: str) -> HTMLResponse:
    return _page(request, "message.html", 400, title=title, tone="error",
                 message="This form could not be read. Open the link from the email again.", detail="")


# --- password reset ---------------------------------------------------------------------------------------

RESET_TITLE = "Choose a new password"
ASK_AGAIN = "Ask for a new link with \u201cForgot password\u201d in the app."


def _reset_form(request: Request, token: str, email: str, error: str = "", status: int = 200) -> HTMLResponse:
    return _page(request, "reset_password.html", status, title=RESET_TITLE, token=token, email=email, error=error,
                 action=request.url.path, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


async def reset_password_page(request: Request) -> HTMLResponse:
    if request.method == "GET":
        token = request.query_params.get("token", "")
        found = await account_links.find_reset_token(token)
        if found is None:
            return _link_not_valid(request, RESET_TITLE, ASK_AGAIN)
        return _reset_form(request, token, found.user.email)
    try:
        form = await _read_form(request)
    except FormRefused:
        return _refused_form(request, RESET_TITLE)
    token, password = form.get("token", ""), form.get("new_password", "")
    found = await account_links.find_reset_token(token)
    if found is None:
        return _link_not_valid(request, RESET_TITLE, ASK_AGAIN)
    if password != form.get("new_password_again", ""):
        return _reset_form(request, token, found.user.email, "The two passwords are not the same.", 400)
    outcome = await attempt(account_links.reset_password(_limiter(request), token, password))
    if isinstance(outcome, Rejection):
        return _reset_form(request, token, found.user.email, outcome.errors[0].message, 400)
    return _page(request, "message.html", title="Password changed", tone="success",
                 message="Your password is changed, and every device that was signed in is signed out.",
                 detail=f"Sign in to honeydue as {outcome.email} with your new password.")


# --- links with a confirm button: verification, change of address ---------------------------------------


@dataclass(frozen=True)
class ConfirmPage:
    title: str
    question: str  # "{email}" is the address the link is about
    button: str
    done: str  # "{email}" as above


VERIFY = ConfirmPage("Confirm your email address", "Confirm that {email} is your address for honeydue.",
                     "Confirm my address", "Thank you: {email} is confirmed.")
CHANGE = ConfirmPage("Confirm your new email address",
                     "Confirm that your honeydue account should use {email} from now on.",
                     "Use this address", "Done: your account now uses {email}. Sign in with it from now on.")


async def verify_email_page(request: Request) -> HTMLResponse:
    if request.method == "GET":
        token = request.query_params.get("token", "")
        found = await account_links.find_verify_token(token)
        if found is None:
            return _link_not_valid(request, VERIFY.title, "Ask for a new email from the app's account settings.")
        return _confirm_form(request, VERIFY, token, found.user.email)
    try:
        form = await _read_form(request)
    except FormRefused:
        return _refused_form(request, VERIFY.title)
    outcome = await attempt(account_links.verify_email(form.get("token", "")))
    if isinstance(outcome, Rejection):
        return _link_not_valid(request, VERIFY.title, "Ask for a new email from the app's account settings.")
    return _page(request, "message.html", title=VERIFY.title, tone="success",
                 message=VERIFY.done.format(email=outcome.email), detail="")


async def confirm_email_page(request: Request) -> HTMLResponse:
    if request.method == "GET":
        token = request.query_params.get("token", "")
        found = await account_links.find_email_change_token(token)
        if found is None or found.new_email is None:
            return _link_not_valid(request, CHANGE.title, "Start the change again from the app's account settings.")
        return _confirm_form(request, CHANGE, token, found.new_email)
    try:
        form = await _read_form(request)
    except FormRefused:
        return _refused_form(request, CHANGE.title)
    outcome = await attempt(account_links.confirm_email_change(form.get("token", "")))
    if isinstance(outcome, Rejection):
        return _page(request, "message.html", 400, title=CHANGE.title, tone="error",
                     message=outcome.errors[0].message,
                     detail="Start the change again from the app's account settings.")
    return _page(request, "message.html", title=CHANGE.title, tone="success",
                 message=CHANGE.done.format(email=outcome.email), detail="")


def _confirm_form(request: Request, page: ConfirmPage, token: str, email: str) -> HTMLResponse:
    return _page(request, "confirm.html", title=page.title, question=page.question.format(email=email),
                 button=page.button, token=token, action=request.url.path)


def account_routes() -> list[BaseRoute]:
    """The pages and their stylesheet, for ``honeydue api`` and ``honeydue serve``."""
    return [
        Route(account_links.RESET_PAGE, reset_password_page, methods=["GET", "POST"]),
        Route(account_links.VERIFY_PAGE, verify_email_page, methods=["GET", "POST"]),
        Route(account_links.CONFIRM_EMAIL_PAGE, confirm_email_page, methods=["GET", "POST"]),
        Mount(STATIC_URL_PATH, app=StaticFiles(directory=STATIC_DIR), name="account-static"),
    ]
