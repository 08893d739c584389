"""Conditional requests (RFC 9110 section 13): 304/412 decisions and If-Range.

The validators come from the media row (strong ETag, Last-Modified), so these
decisions are made before the store is contacted: a revalidation costs no
upstream request at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime

from starlette.datastructures import Headers

from honeydue.clock import utc_now

NOT_MODIFIED = 304
PRECONDITION_FAILED = 412


def format_etag(etag: str) -> str:
    """The strong, quoted form of an opaque tag (stored without quotes)."""
    return f'"{etag.strip().strip(chr(34))}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_LONG = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
# RFC 9110 section 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
# Case-sensitive, always GMT: a numeric zone ("+0500"), a missing weekday or any other shape is not an
# HTTP-date, and section 13.1 says to ignore such a condition rather than guess what it meant.
_HTTP_DATE_FORMS = (
    re.compile(rf"{_DAY}, (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT"),
    re.compile(rf"{_DAY_LONG}, (?P<day>\d\d)-{_MONTH}-(?P<year>\d\d) {_TIME} GMT"),
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})"),
)


def parse_http_date(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """An HTTP-date as an aware UTC datetime; None when absent or not an HTTP-date (then it is ignored).

    ``now`` resolves an RFC 850 two-digit year (section 5.6.7: a year more than 50 years ahead is the most
    recent past year with those digits).
    """
    if not value:
        return None
    value = value.strip(" \t")
    for form in _HTTP_DATE_FORMS:
        match = form.fullmatch(value)
        if match is not None:
            break
    else:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        this_year = (now or utc_now()).year
        year += this_year - this_year % 100
        if year > this_year + 50:
            year -= 100
    try:
        return datetime(year, _MONTHS.index(match["month"]) + 1, int(match["day"]), int(match["hour"]),
                        int(match["minute"]), int(match["second"]), tzinfo=UTC)
    except ValueError:  # 31 Feb, 25:00:00 ...
        return None


_ENTITY_TAG = re.compile(r'([Ww]/)?("[^"]*")')


def parse_etag_list(value: str) -> list[tuple[bool, str]] | None:
    """``If-None-Match``/``If-Match`` items as (weak, opaque-tag-with-quotes); None for ``*``.

    Tags are matched whole, not split on commas: an opaque tag may contain one.
    """
    if value.strip() == "*" or any(item.strip() == "*" for item in _ENTITY_TAG.sub("", value).split(",")):
        return None
    return [(bool(weak), tag) for weak, tag in _ENTITY_TAG.findall(value)]


def field_list(headers: Headers, name: str) -> str | None:
    """Every field line of a list-valued header as one list (RFC 9110 section 5.3); None when absent."""
    lines = headers.getlist(name)
    return ", ".join(lines) if lines else None


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
    if_match = field_list(headers, "if-match")
    if if_match is not None:
        tags = parse_etag_list(if_match)
        if tags is not None and not any(not weak and tag == strong for weak, tag in tags):
            return PRECONDITION_FAILED
    else:
        since = parse_http_date(headers.get("if-unmodified-since"))
        if since is not None and modified > since:
            return PRECONDITION_FAILED
    if_none_match = field_list(headers, "if-none-match")
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
