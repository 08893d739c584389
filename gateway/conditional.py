"""Conditional requests (RFC 9110 section 13): 304/412 decisions and If-Range.

The validators come from the media row (strong ETag, Last-Modified), so these
decisions are made before the store is contacted: a revalidation costs no
upstream request at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers

NOT_MODIFIED = 304
PRECONDITION_FAILED = 412


def format_etag(etag: str) -> str:
    """The strong, quoted form of an opaque tag (stored without quotes)."""
    return f'"{etag.strip().strip(chr(34))}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date as an aware UTC datetime; None when absent or not a date (then it is ignored)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_etag_list(value: str) -> list[tuple[bool, str]] | None:
    """``If-None-Match``/``If-Match`` items as (weak, opaque-tag-with-quotes); None for ``*``."""
    if value.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    for item in value.split(","):
        item = item.strip()
        weak = item[:2] in ("W/", "w/")
        if weak:
            item = item[2:]
        if len(item) >= 2 and item[0] == item[-1] == '"':
            tags.append((weak, item))
    return tags


def evaluate_preconditions(
    headers: Headers, method: str, etag: str, last_modified: datetime
) -> int | None:
    """The status to answer instead of the object (304 or 412), or None to carry on.

    Follows the order of RFC 9110 section 13.2.2: If-Match, then
    If-Unmodified-Since (only without If-Match), then If-None-Match, then
    If-Modified-Since (only without If-None-Match, and only for GET/HEAD).
    """
    strong = format_etag(etag)
    modified = _seconds(last_modified)
    if_match = headers.get("if-match")
    if if_match is not None:
        tags = parse_etag_list(if_match)
        if tags is not None and not any(not weak and tag == strong for weak, tag in tags):
            return PRECONDITION_FAILED
    else:
        since = parse_http_date(headers.get("if-unmodified-since"))
        if since is not None and modified > since:
            return PRECONDITION_FAILED
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = parse_etag_list(if_none_match)
        # Weak comparison: W/"x" matches "x".
        if tags is None or any(tag == strong for _weak, tag in tags):
            return NOT_MODIFIED if method in ("GET", "HEAD") else PRECONDITION_FAILED
    elif method in ("GET", "HEAD"):
        since = parse_http_date(headers.get("if-modified-since"))
        if since is not None and modified <= since:
            return NOT_MODIFIED
    return None


def if_range_allows(value: str | None, etag: str, last_modified: datetime) -> bool:
    """Whether a Range may be honoured given ``If-Range`` (absent -> yes).

    Only a strong ETag equal to ours, or a date equal to our Last-Modified,
    keeps the range; a weak tag or anything unparsable means "send it all".
    """
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"'):
        return value == format_etag(etag)
    if value[:2] in ("W/", "w/"):
        return False
    date = parse_http_date(value)
    return date is not None and date == _seconds(last_modified)


def _seconds(moment: datetime) -> datetime:
    """HTTP dates have one-second resolution; compare at that resolution."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)
