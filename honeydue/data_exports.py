"""Data export rules shared by the API (``requestDataExport``, ``User.dataExports``) and the job that builds them.

* Where a zip lives: ``exports/<user_id>/<export_id>.zip`` (DESIGN.md "Object keys"), so an account purge
  removes every export with the ``exports/<user_id>/`` prefix.
* How long it is kept: ``EXPORT_LIFETIME`` (7 days) from the moment it is ready, rounded up to the signing
  window (the hour), so the gateway link, whose expiry snaps to that window, ends exactly with the export.
* The download link: a signed gateway link (``/media/{key}?exp&sig``) that expires with the export.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from honeydue.signing import sign_media_url, snap_expiry

ZIP = "application/zip"
EXPORT_LIFETIME = timedelta(days=7)
# At most one export per user in this window (FAILED ones do not count), and one in flight at a time.
EXPORT_INTERVAL = timedelta(days=1)
# How many exports User.dataExports lists, newest first.
LISTED_EXPORTS = 50


def exports_prefix(user_id: uuid.UUID | str) -> str:
    return f"exports/{uuid.UUID(str(user_id))}/"


def export_key(user_id: uuid.UUID | str, export_id: uuid.UUID | str) -> str:
    return f"{exports_prefix(user_id)}{uuid.UUID(str(export_id))}.zip"


def export_filename(ready_at: datetime) -> str:
    """What the browser saves the zip as."""
    return f"honeydue-data-export-{ready_at.astimezone(UTC):%Y-%m-%d}.zip"


def export_expiry(ready_at: datetime) -> datetime:
    """When an export ready at ``ready_at`` expires: 7 days on, rounded up to the hour of the signing window."""
    return datetime.fromtimestamp(snap_expiry(ready_at.timestamp(), int(EXPORT_LIFETIME.total_seconds())), UTC)


def download_url(keys: list[bytes], gateway_url: str, key: str, expires_at: datetime,
                 now: float | None = None) -> str | None:
    """The signed gateway link of an export, valid until ``expires_at``; None once that has passed."""
    now = time.time() if now is None else now
    seconds_left = int(expires_at.timestamp() - now)
    if seconds_left <= 0:
        return None
    return sign_media_url(keys, gateway_url, key, seconds_left, now=now)
