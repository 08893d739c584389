"""The current instant, in one place: every "now" of the service is read here.

Resolvers take ``now`` as an argument (so tests control the clock); the schema layer, the token checks,
the rate-limit windows and the workers ask this module for it. Always timezone-aware UTC: the ORM runs
with ``use_tz`` and ``schedule.to_local_date`` refuses naive datetimes.

``source`` is the one seam: tests replace it (the ``frozen_now`` fixture in ``tests/conftest.py``) and
every reader below follows, because they look it up on each call. What stays on the wall clock on
purpose: signed-link expiries (``honeydue/signing.py``, the storage backends' presigned and upload links,
the gateway checking them), which another process or the object store verifies against its own clock;
the ORM's ``auto_now`` row timestamps (Tortoise's own clock, which ``frozen_now`` moves along with the
seam); file ages (the workers' heartbeat files, whose mtimes the system clock writes); and elapsed-time
measurements (``time.monotonic``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def wall_clock() -> datetime:
    """The system clock as an aware UTC datetime."""
    return datetime.now(UTC)


source: Callable[[], datetime] = wall_clock


def utc_now() -> datetime:
    """The current instant as an aware UTC datetime."""
    return source()


def unix_now() -> float:
    """The current instant in seconds since the epoch (for fixed time windows)."""
    return source().timestamp()
