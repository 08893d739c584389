"""Links the app sends people (in emails, feeds, push): always absolute, always under ``PUBLIC_APP_URL``."""

from __future__ import annotations

from urllib.parse import urlencode

from honeydue.settings import Settings


def app_link(settings: Settings, path: str, **query: str) -> str:
    """``{PUBLIC_APP_URL}{path}?{query}``; ``path`` starts with ``/``, query values are URL-encoded."""
    if not path.startswith("/"):
        raise ValueError(f"app paths start with '/': {path!r}")
    link = settings.effective_public_app_url + path
    return f"{link}?{urlencode(query)}" if query else link
