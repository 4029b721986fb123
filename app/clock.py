"""The only place that reads the wall clock; everything else is handed `now`."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_s() -> float:
    """Seconds since the Unix epoch, as the routing core takes them."""
    return time.time()


def utcnow() -> datetime:
    """The current time as an aware UTC datetime, for database columns."""
    return datetime.now(UTC)


def to_datetime(epoch_s: float) -> datetime:
    """An epoch-seconds instant as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch_s, UTC)


def monotonic_s() -> float:
    """A clock for measuring durations; never goes backwards."""
    return time.monotonic()
