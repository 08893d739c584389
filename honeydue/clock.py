"""The current instant, in one place.

Resolvers take ``now`` as an argument (so tests control the clock); the schema layer asks this module
for it once per operation. Always timezone-aware UTC: the ORM runs with ``use_tz`` and
``schedule.to_local_date`` refuses naive datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)
