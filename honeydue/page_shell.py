"""The HTML document shell shared by every page honeydue renders itself.

The admin console, GraphiQL, the account and notification-action pages and the unsubscribe page all start
with the same document: charset, mobile viewport, and ``no-referrer`` (some of these URLs hold a secret token,
and none should leak its address to whatever it links to). That head lives once, in
``templates/shell/_document.html``. Each page adds its own title, robots policy, stylesheets and scripts in
the ``head`` block; its Content-Security-Policy and other headers stay with its route.

Jinja pages extend the shell (their environment's loader includes :func:`shell_loader`); pages built in
Python (whose asset URLs and SRI hashes are computed per request) pass finished markup to
:func:`render_document`.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

DOCUMENT_TEMPLATE = "_document.html"


def shell_loader() -> PackageLoader:
    """The loader holding ``_document.html``, for a page environment's ``ChoiceLoader``."""
    return PackageLoader("honeydue", "templates/shell")


@cache
def _environment() -> Environment:
    return Environment(loader=shell_loader(), autoescape=True, undefined=StrictUndefined)


def render_document(*, head: str, body: str) -> str:
    """The whole page around ``head`` (title, links, scripts) and ``body``.

    Both are inserted as they are: the caller has escaped every value it interpolated into them.
    """
    return _environment().get_template(DOCUMENT_TEMPLATE).render(head=Markup(head), body=Markup(body)) + "\n"
