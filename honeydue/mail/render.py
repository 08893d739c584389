"""Rendering an email kind from its template pair.

Each kind has ``templates/<kind>.txt`` (the plain-text part; its ``{% set subject = ... %}`` is the subject)
and ``templates/<kind>.html`` (the HTML part, autoescaped: user-written task names cannot inject markup).
Both extend the shared ``_base`` layouts, which add the footer (and the unsubscribe link when there is one).
Undefined variables are errors, not blanks, so a caller that forgot a value finds out in its tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

TEMPLATE_PACKAGE = "honeydue.mail"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def known_kinds() -> frozenset[str]:
    """Kinds with both templates present (names starting with ``_`` are layouts, not kinds)."""
    names = {entry.name for entry in files(TEMPLATE_PACKAGE).joinpath("templates").iterdir()}
    return frozenset(
        name.removesuffix(".txt") for name in names
        if name.endswith(".txt") and not name.startswith("_") and name.removesuffix(".txt") + ".html" in names
    )


def render(kind: str, context: dict[str, object]) -> RenderedEmail:
    """The subject and both bodies of ``kind`` for ``context``; raises for an unknown kind or a missing value."""
    if kind not in known_kinds():
        raise ValueError(f"unknown email kind {kind!r}: add templates/{kind}.txt and templates/{kind}.html")
    env = environment()
    text_module = env.get_template(f"{kind}.txt").make_module(dict(context))
    subject = getattr(text_module, "subject", None)
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"templates/{kind}.txt must set a subject: {{% set subject = ... %}}")
    html = env.get_template(f"{kind}.html").render(dict(context), subject=subject)
    return RenderedEmail(subject=" ".join(subject.split()), text=str(text_module), html=html)
