"""Waiting clear of a wall-clock edge, for tests whose other process reads the real clock.

A test that starts ``honeydue serve`` or ``honeydue jobs run`` cannot freeze that process's clock (the
``frozen_now`` fixture patches this process only). When what it checks depends on the hour (the reminder job
serves the preferences whose hour is the current one) or on a fixed rate-limit window, a run that crosses the
edge between the test's set-up and the other process's work fails for no fault of the code. These helpers
wait, only when the edge is closer than the time the test needs, until just past it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from honeydue import clock

HOUR = 3600
# How long a test lets a ``honeydue jobs run`` subprocess take (its timeout): the room it needs before an edge.
JOBS_RUN_TIMEOUT = 120
PAST_THE_EDGE = 1.0  # seconds: lands safely inside the next window, whatever the clock's resolution


def seconds_to_wait(period: int, needed: float, now: datetime | None = None) -> float:
    """How long to wait so that ``needed`` seconds fit before the next multiple of ``period`` (0 if they do)."""
    stamp = (now or clock.wall_clock()).timestamp()
    left = period - stamp % period
    return 0.0 if left > needed else left + PAST_THE_EDGE


def wait_clear_of_edge(period: int, needed: float) -> datetime:
    """Block until ``needed`` seconds fit in the current ``period``-second window; the wall clock after."""
    time.sleep(seconds_to_wait(period, needed))
    return clock.wall_clock()


async def await_clear_of_edge(period: int, needed: float) -> datetime:
    """``wait_clear_of_edge`` for async tests (the event loop keeps running while it waits)."""
    await asyncio.sleep(seconds_to_wait(period, needed))
    return clock.wall_clock()
