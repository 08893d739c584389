"""Process logging: JSON lines by default (one object per line, for the cluster's log pipeline).

Each line carries ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and ``request_id``
(``honeydue.request_id``; null outside a request), plus any ``extra`` fields.

Secrets never reach the output: ``RedactionFilter`` rewrites every record's message, arguments and string
extras, and the formatters scrub tracebacks, before anything is written. It removes bearer tokens and
honeydue token-shaped strings, signed links' ``sig=`` values, S3 SigV4 signatures and credentials
(``X-Amz-Signature``, ``X-Amz-Credential``, ``Signature=``/``Credential=`` in Authorization headers),
passwords in ``key=value`` / ``"key": value`` form and inside URLs, and argon2 password hashes. It is a
filter on the handler, not on a logger, so records of every library pass through it.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from honeydue.request_id import RequestIdFilter
from honeydue.settings import Settings

REDACTED = "[REDACTED]"

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer <token>
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    # Query values and SigV4 header fields: ?sig=, X-Amz-Signature=, Credential=AKID/..., Signature=...
    (re.compile(r"(?i)\b(sig|signature|credential|x-amz-signature|x-amz-credential|x-amz-security-token"
                r"|access_token|token)=[^&\s'\",;<>]+"), rf"\1={REDACTED}"),
    # botocore's debug output prints "Signature:\n<hex>"
    (re.compile(r"(?i)\b(signature:\s*)[0-9a-f]{16,}"), rf"\1{REDACTED}"),
    # password=..., "password": "...", 'new_password': '...', SMTP_PASSWORD=..., B2_APP_KEY=...
    # (an unquoted value may hold spaces: it runs to the next , ; & } or the end of the line)
    # The key name is anchored at a word start and bounded: an unbounded [\w-]* made this pattern quadratic on
    # long runs of letters, and a 12 KB email in a logged error froze the event loop for a minute.
    (re.compile(r"(?i)((?<![\w-])[\"']?[\w-]{0,40}?(?:password|passwd|secret|app_key|signing_key)[\w-]{0,40}"
                r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\n,;&}]+)"), rf"\1{REDACTED}"),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://[^/\s:@]{0,256}):[^@\s/]{1,256}@"), rf"\1:{REDACTED}@"),
    # honeydue bearer tokens wherever they appear (honeydue.tokens.TOKEN_PREFIX)
    (re.compile(r"\bhd_[A-Za-z0-9_-]{16,}"), REDACTED),
    # argon2 password hashes (honeydue.passwords), e.g. in SQL debug output
    (re.compile(r"\$argon2(?:id|i|d)\$(?:v=\d+\$)?[^$\s]+\$[^$\s]+\$[A-Za-z0-9+/]+"), REDACTED),
]

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


MAX_LOGGED_CHARS = 8192


def redact(text: str) -> str:
    """``text`` with every secret the patterns above recognise replaced by ``[REDACTED]``.

    Text past ``MAX_LOGGED_CHARS`` is cut first: log lines echo client input (a query, an email), and
    neither the log pipeline nor the event loop should pay for megabytes of it.
    """
    if len(text) > MAX_LOGGED_CHARS:
        text = f"{text[:MAX_LOGGED_CHARS]}... [{len(text) - MAX_LOGGED_CHARS} more characters cut]"
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactionFilter(logging.Filter):
    """Formats the message once, redacted, so neither it nor its arguments can leak a secret later."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format arguments: logging would report them; keep the raw text
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _utc_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class RedactingJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _utc_time(record)

    # python-json-logger returns a list of lines instead of a string when configured with *_as_array.
    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]  # noqa: N802
        return _redact_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str | list[str]:  # type: ignore[override]  # noqa: N802
        return _redact_lines(super().formatStack(stack_info))


def _redact_lines(formatted: str | list[str]) -> str | list[str]:
    if isinstance(formatted, str):
        return redact(formatted)
    return [redact(line) for line in formatted]


class RedactingTextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _utc_time(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


def build_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr by default) with the request-id and redaction filters."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            RedactingJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(RedactingTextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    return handler


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Send every logger's records to one handler (``stream``, default stderr) in ``LOG_FORMAT``."""
    root = logging.getLogger()
    root.handlers[:] = [build_handler(settings.log_format, stream)]
    root.setLevel(settings.log_level.upper())
    # uvicorn's access log would print query strings (signed links); honeydue.access logs paths instead.
    logging.getLogger("uvicorn.access").disabled = True
