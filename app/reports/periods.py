"""The period a report covers: `from`/`to` query values read in a time zone, and its limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.api.fields import InvalidFieldsError

MAX_DAYS = 92
"""The longest period one report may cover (about a quarter)."""

_DATE_LENGTH = len("2026-11-23")


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of time [start, end) and the zone its days and labels are shown in."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    def local(self, epoch_s: float) -> datetime:
        """An instant as an aware datetime in the report's zone."""
        return datetime.fromtimestamp(epoch_s, self.tz)

    def days(self) -> list[date]:
        """Every local date the period touches, in order."""
        first = self.start.astimezone(self.tz).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def parse_period(
    from_text: str | None, to_text: str | None, tz_name: str, *, now: datetime
) -> Period:
    """Read `from`, `to` and `tz`, or raise a 422 naming the bad field.

    A date means the whole local day (`to` included); a datetime without an offset is
    local to `tz`; both default to the local date of `now`.
    """
    tz = _zone(tz_name)
    today = now.astimezone(tz).date()
    start = _instant(from_text, tz, "query.from", end_of_day=False, default=today)
    end = _instant(to_text, tz, "query.to", end_of_day=True, default=today)
    if end <= start:
        raise InvalidFieldsError([{"field": "query.to", "message": "must be after from"}])
    if end - start > timedelta(days=MAX_DAYS):
        message = f"a report covers at most {MAX_DAYS} days"
        raise InvalidFieldsError([{"field": "query.to", "message": message}])
    return Period(start, end, tz)


def interval_label(period: Period, interval_start_s: float) -> datetime:
    """The start of a 15-minute interval in the report's zone.

    Intervals are aligned to multiples of 900 s of epoch time, as the routing engine's are;
    every zone in use today is offset from UTC by whole quarter hours, so they also start
    at :00, :15, :30 and :45 local time.
    """
    return period.local(interval_start_s)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = "not a known IANA time zone, e.g. America/Chicago or UTC"
        raise InvalidFieldsError([{"field": "query.tz", "message": message}]) from None


def _instant(
    text: str | None, tz: ZoneInfo, field: str, *, end_of_day: bool, default: date
) -> datetime:
    if text is None or not text.strip():
        return _midnight(default + timedelta(days=1) if end_of_day else default, tz)
    value = text.strip()
    try:
        if len(value) == _DATE_LENGTH:
            day = date.fromisoformat(value)
            return _midnight(day + timedelta(days=1) if end_of_day else day, tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        message = "use a date (2026-11-23) or a date and time (2026-11-23T09:00:00-06:00)"
        raise InvalidFieldsError([{"field": field, "message": message}]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)
