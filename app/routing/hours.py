"""Business hours: is a queue open at `now`, and when does it next open."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.routing.model import BusinessHours, OpenInterval

_LOOKAHEAD_DAYS = 400


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(hours: BusinessHours, now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC).astimezone(_zone(hours.tz))


def is_open(hours: BusinessHours | None, now: float) -> bool:
    """True when `now` falls in an opening interval that is not on a holiday; None = always."""
    if hours is None:
        return True
    local = _local(hours, now)
    if local.date() in hours.holidays:
        return False
    minute = local.hour * 60 + local.minute + local.second / 60.0
    return any(_covers(interval, local.weekday(), minute) for interval in hours.weekly)


def _covers(interval: OpenInterval, weekday: int, minute: float) -> bool:
    return interval.weekday == weekday and interval.start_min <= minute < interval.end_min


def next_open(hours: BusinessHours | None, now: float) -> float | None:
    """The first instant at or after `now` when the queue is open; None if it never opens."""
    if hours is None or is_open(hours, now):
        return now
    zone = _zone(hours.tz)
    day = _local(hours, now).date()
    for offset in range(_LOOKAHEAD_DAYS):
        current = day + timedelta(days=offset)
        if current in hours.holidays:
            continue
        starts = sorted(i.start_min for i in hours.weekly if i.weekday == current.weekday())
        for start_min in starts:
            opening = datetime.combine(current, time(start_min // 60, start_min % 60), zone)
            at = opening.timestamp()
            if at >= now:
                return at
    return None


def parse_weekly(spec: dict[str, str]) -> tuple[OpenInterval, ...]:
    """Parse {"mon": "08:00-17:00", "sat": "09:00-12:00,13:00-15:00"} into intervals."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    intervals: list[OpenInterval] = []
    for day, ranges in spec.items():
        weekday = names.index(day.lower()[:3])
        for part in ranges.split(","):
            start, _, end = part.strip().partition("-")
            intervals.append(OpenInterval(weekday, _minutes(start), _minutes(end)))
    return tuple(intervals)


def _minutes(text: str) -> int:
    hour, _, minute = text.strip().partition(":")
    value = int(hour) * 60 + int(minute or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"time of day out of range: {text!r}")
    return value
