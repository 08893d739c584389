"""One-click unsubscribe (RFC 8058): ``GET`` and ``POST /email/unsubscribe?token=...`` on the API.

Every non-transactional email carries ``List-Unsubscribe: <{PUBLIC_APP_URL}/email/unsubscribe?token=...>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. A mail client's unsubscribe button POSTs to that link;
a person who clicks the link in the footer gets a page that asks first (``GET`` never changes anything: mail
scanners open every link of a message), whose form POSTs the same thing. The POST turns the email's
notification type off for its user (``NotificationPreference.enabled``), the same switch the app's
notification settings flip.

The token (``honeydue.signing.sign_unsubscribe``) names the user and the type and is signed with
``MEDIA_SIGNING_KEY``; it does not expire, because an email read months later must still work. It can only
turn one type off for one user, so it needs no session. The pages have no script and a CSP that admits
nothing but their own inline style (by hash).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from functools import cache

from jinja2 import ChoiceLoader, Environment, PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue.mail.delivery import UNSUBSCRIBE_PATH
from honeydue.models import NotificationPreference, NotificationType, User
from honeydue.page_shell import shell_loader
from honeydue.services import services_of
from honeydue.signing import verify_unsubscribe

log = logging.getLogger(__name__)

# What each type's emails are, in the words of the page ("You will no longer get ...").
EMAILS_OF_TYPE: dict[NotificationType, str] = {
    NotificationType.TASK_DUE_SOON: "emails about tasks coming due",
    NotificationType.TASK_OVERDUE: "emails about overdue tasks",
    NotificationType.WARRANTY_EXPIRING: "emails about expiring warranties and documents",
    NotificationType.RESIDENCE_SHARED: "emails about people joining your homes",
    NotificationType.ONBOARDING: "getting-started emails (welcome, add your home, add your first task)",
    # Never in an unsubscribe link (the export email is transactional); named so the page could say it.
    NotificationType.DATA_EXPORT_READY: "notices that a data export you asked for is ready",
}

STYLE = (
    "body{margin:0;padding:48px 16px;background:#f6f6f3;color:#222;"
    "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}"
    "main{max-width:480px;margin:0 auto;background:#fff;border-radius:8px;padding:24px}"
    "h1{font-size:22px;margin-top:0}"
    "button{font:inherit;padding:10px 20px;border:0;border-radius:6px;background:#1a6b3c;color:#fff;cursor:pointer}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
PAGE_CSP = "; ".join((
    "default-src 'none'",
    f"style-src 'sha256-{_STYLE_HASH}'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}


@cache
def _page_environment() -> Environment:
    return Environment(loader=ChoiceLoader([PackageLoader("honeydue.mail", "pages"), shell_loader()]), autoescape=True)


def _page(status: int, heading: str, message: str, *, ask: bool = False) -> HTMLResponse:
    html = _page_environment().get_template("unsubscribe.html").render(
        heading=heading, message=message, ask=ask, style=STYLE)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _invalid() -> HTMLResponse:
    return _page(400, "This link does not work",
                 "The unsubscribe link is incomplete or was changed. Open it again from the email, or turn "
                 "emails off in the app's notification settings.")


def _read_token(request: Request) -> tuple[uuid.UUID, NotificationType] | None:
    found = verify_unsubscribe(services_of(request).signing_keys, request.query_params.get("token"))
    if found is None:
        return None
    user_hex, type_name = found
    try:
        return uuid.UUID(hex=user_hex), NotificationType(type_name)
    except ValueError:  # signed by us, so only an older code's type name could get here
        return None


async def unsubscribe_page(request: Request) -> HTMLResponse:
    target = _read_token(request)
    if target is None:
        return _invalid()
    return _page(200, "Unsubscribe?", f"Stop {EMAILS_OF_TYPE[target[1]]}? You can turn them on again in the "
                                      "app's notification settings.", ask=True)


async def unsubscribe(request: Request) -> HTMLResponse:
    target = _read_token(request)
    if target is None:
        return _invalid()
    user_id, ntype = target
    if await User.exists(id=user_id):
        await turn_off(user_id, ntype)
        log.info("user %s unsubscribed from %s emails", user_id, ntype.value)
    # A deleted account gets the same answer: it receives nothing any more either way.
    return _page(200, "You are unsubscribed", f"You will no longer get {EMAILS_OF_TYPE[ntype]}. You can turn "
                                              "them on again in the app's notification settings.")


async def turn_off(user_id: uuid.UUID, ntype: NotificationType) -> None:
    """``enabled=False`` for (user, type), keeping the chosen hour; safe against a concurrent first write."""
    if await NotificationPreference.filter(user_id=user_id, type=ntype).update(enabled=False):
        return
    try:
        async with in_transaction():  # a savepoint: the unique (user, type) may be taken meanwhile
            await NotificationPreference.create(user_id=user_id, type=ntype, enabled=False)
    except IntegrityError:
        await NotificationPreference.filter(user_id=user_id, type=ntype).update(enabled=False)


def unsubscribe_routes() -> list[Route]:
    return [
        Route(UNSUBSCRIBE_PATH, unsubscribe_page, methods=["GET"]),
        Route(UNSUBSCRIBE_PATH, unsubscribe, methods=["POST"]),
    ]
