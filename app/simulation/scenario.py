"""Reading scenario files (TOML or JSON) into a `Scenario`; errors name file and field."""

from __future__ import annotations

import json
import math
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.routing.hours import parse_weekly
from app.routing.model import (
    AgentId,
    BusinessHours,
    Channel,
    ClosedPolicy,
    EscalationStep,
    QueueConfig,
    QueueId,
    Requirement,
    SelectionStrategy,
    agent_config,
    requirement,
)
from app.routing.simulate import DISTRIBUTIONS, Distribution, QueueLoad, RosterAgent, Scenario

_CHANNEL_NAMES = ", ".join(channel.value for channel in Channel)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InputError(Exception):
    """A bad input file or value; the message names the file, line (if any) and field."""


class _Fields:
    """Typed access to one table of the file, naming the field on error."""

    def __init__(self, source: str, path: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise InputError(f"{source}: {path or 'top level'}: must be a table")
        self.source, self.path, self.table = source, path, table

    def fail(self, key: str, problem: str) -> InputError:
        """An error naming this field."""
        where = f"{self.path}.{key}" if self.path else key
        return InputError(f"{self.source}: {where}: {problem}")

    def sub(self, key: str, value: Any) -> _Fields:
        """Fields of a nested table."""
        return _Fields(self.source, f"{self.path}.{key}" if self.path else key, value)

    def number(self, key: str, default: float | None = None, *, minimum: float = 0.0) -> float:
        """A number >= `minimum`."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not math.isfinite(value) or value < minimum:
            raise self.fail(key, f"must be a finite number >= {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int | None = None) -> int:
        """An integer."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string."""
        value = self.table.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def choice(self, key: str, options: Any, default: str) -> Any:
        """One of an enum's values."""
        value = self.table.get(key, default)
        try:
            return options(value)
        except ValueError:
            allowed = ", ".join(o.value for o in options)
            raise self.fail(key, f"must be one of {allowed}, got {value!r}") from None

    def items(self, key: str) -> list[Any]:
        """A list (empty if absent)."""
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return value


def load_scenario(path: Path, seed: int | None = None) -> Scenario:
    """Read a TOML or JSON scenario file."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        is_json = path.suffix.lower() == ".json"
        data = json.loads(raw) if is_json else tomllib.loads(raw.decode())
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None
    return parse_scenario(source, data, seed)


def parse_scenario(source: str, data: Any, seed: int | None = None) -> Scenario:
    """Build a `Scenario` from already-parsed data."""
    top = _Fields(source, "", data)
    sim = top.sub("simulation", top.table.get("simulation", {}))
    tz_name = sim.text("timezone", "UTC")
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise sim.fail("timezone", f"unknown time zone {tz_name!r}") from None
    start_at = _start(sim, zone)
    duration_s = sim.number("duration_h", 8.0) * 3600.0
    if "duration_s" in sim.table:
        duration_s = sim.number("duration_s")
    queues, loads = [], []
    for i, item in enumerate(top.items("queues")):
        fields = top.sub(f"queues[{i}]", item)
        queues.append(_queue(fields))
        loads.extend(_load(fields, queues[-1].id))
    agents: list[RosterAgent] = []
    for i, item in enumerate(top.items("agents")):
        agents.extend(_agents(top.sub(f"agents[{i}]", item), zone, start_at, duration_s))
    return Scenario(
        queues=tuple(queues),
        loads=tuple(loads),
        agents=tuple(agents),
        start_at=start_at,
        duration_s=duration_s,
        seed=sim.integer("seed", 1) if seed is None else seed,
        accept_delay=_accept_delay(sim),
    )


def _start(sim: _Fields, zone: ZoneInfo) -> float:
    text = sim.text("start", "1970-01-01T00:00:00+00:00")
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise sim.fail("start", f"must be an ISO 8601 date-time, got {text!r}") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    return start.timestamp()


def _accept_delay(sim: _Fields) -> Distribution:
    if "accept_delay" in sim.table:
        return _distribution(sim.sub("accept_delay", sim.table["accept_delay"]))
    return Distribution("constant", sim.number("accept_delay_s", 0.0))


def parse_skills(items: Any, fail: Any) -> Requirement:
    """["ui", "spanish:5"] -> a requirement; `fail(problem)` builds the error."""
    if isinstance(items, str):
        items = [part for part in items.split(";") if part.strip()]
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise fail('must be a list of skills like "ui" or "spanish:5"')
    try:
        required = requirement(*items)
    except ValueError:
        raise fail(f"levels must be integers, got {items!r}") from None
    if any(not r.skill or not 1 <= r.min_level <= 10 for r in required):
        raise fail(f"skill levels must be 1..10, got {items!r}")
    return required


def _skills(fields: _Fields, key: str) -> Requirement:
    return parse_skills(fields.table.get(key, []), lambda problem: fields.fail(key, problem))


def _queue(fields: _Fields) -> QueueConfig:
    queue_id = QueueId(fields.text("id"))
    max_size = fields.table.get("max_size")
    if max_size is not None:
        max_size = fields.integer("max_size")
    return QueueConfig(
        id=queue_id,
        name=fields.table.get("name", queue_id),
        required=_skills(fields, "skills"),
        priority=fields.integer("priority", 0),
        sl_threshold_s=fields.number("sl_threshold_s", 60.0),
        sl_target=fields.number("sl_target", 0.8),
        max_size=max_size,
        hours=_hours(fields.sub("hours", fields.table["hours"]))
        if "hours" in fields.table
        else None,
        closed_policy=fields.choice("closed_policy", ClosedPolicy, "refuse"),
        escalation=tuple(
            _step(fields.sub(f"escalation[{i}]", step))
            for i, step in enumerate(fields.items("escalation"))
        ),
        strategy=fields.choice("strategy", SelectionStrategy, "longest_idle"),
        offer_timeout_s=fields.number("offer_timeout_s", 30.0),
        reoffer_after_s=fields.number("reoffer_after_s", 30.0),
        aging_per_s=fields.number("aging_per_s", 0.0),
        missed_policy=bool(fields.table.get("missed_policy", False)),
        sticky_s=fields.number("sticky_s", 0.0),
        wrap_up_s=fields.number("wrap_up_s", 0.0),
        expected_handle_s=fields.number("expected_handle_s", 300.0),
    )


def _hours(fields: _Fields) -> BusinessHours:
    weekly = {day: fields.text(day) for day in WEEKDAYS if day in fields.table}
    try:
        intervals = parse_weekly(weekly)
    except ValueError as exc:
        raise fields.fail("mon..sun", f'must look like "08:00-17:00": {exc}') from None
    holidays = set()
    for i, text in enumerate(fields.items("holidays")):
        try:
            holidays.add(date.fromisoformat(str(text)))
        except ValueError:
            raise fields.fail(f"holidays[{i}]", f"must be YYYY-MM-DD, got {text!r}") from None
    tz_name = fields.text("tz", "UTC")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fields.fail("tz", f"unknown time zone {tz_name!r}") from None
    return BusinessHours(tz_name, intervals, frozenset(holidays))


def _step(fields: _Fields) -> EscalationStep:
    overflow = fields.table.get("overflow_to")
    return EscalationStep(
        after_s=fields.number("after_s"),
        required=_skills(fields, "required") if "required" in fields.table else None,
        also=_skills(fields, "also") if "also" in fields.table else None,
        priority_delta=fields.integer("priority_delta", 0),
        overflow_to=QueueId(fields.text("overflow_to")) if overflow is not None else None,
    )


def _load(fields: _Fields, queue_id: QueueId) -> list[QueueLoad]:
    if "arrivals_per_hour" not in fields.table:
        return []
    rates = fields.table["arrivals_per_hour"]
    rates = rates if isinstance(rates, list) else [rates]
    for i in range(len(rates)):
        _Fields(fields.source, fields.path, {f"arrivals_per_hour[{i}]": rates[i]}).number(
            f"arrivals_per_hour[{i}]"
        )
    handle = _distribution(fields.sub("handle", fields.table.get("handle", {"mean_s": 300})))
    patience_table = fields.table.get("patience", {"dist": "none"})
    return [
        QueueLoad(
            queue_id=queue_id,
            channel=fields.choice("channel", Channel, "chat"),
            arrivals_per_hour=tuple(float(rate) for rate in rates),
            handle=handle,
            patience=_distribution(fields.sub("patience", patience_table)),
        )
    ]


def _distribution(fields: _Fields) -> Distribution:
    kind = fields.text("dist", "exponential")
    if kind not in DISTRIBUTIONS:
        raise fields.fail("dist", f"must be one of {', '.join(sorted(DISTRIBUTIONS))}")
    if kind == "none":
        return Distribution("none")
    if kind == "uniform":
        low, high = fields.number("min_s"), fields.number("max_s")
        if high < low:
            raise fields.fail("max_s", "must be >= min_s")
        return Distribution("uniform", min_s=low, max_s=high)
    mean_s = fields.number("mean_s")
    if kind == "lognormal":
        if mean_s <= 0:
            raise fields.fail("mean_s", "must be > 0 for lognormal")
        return Distribution("lognormal", mean_s, fields.number("sd_s"))
    return Distribution(kind, mean_s)


def _agents(
    fields: _Fields, zone: ZoneInfo, start_at: float, duration_s: float
) -> list[RosterAgent]:
    base_id = fields.text("id")
    count = fields.integer("count", 1)
    skills_table = fields.sub("skills", fields.table.get("skills", {}))
    skills = {name: skills_table.integer(name) for name in skills_table.table}
    if any(not 1 <= level <= 10 for level in skills.values()):
        raise fields.fail("skills", "levels must be 1..10")
    capacity_table = fields.sub("capacity", fields.table.get("capacity", {}))
    capacity = {}
    for name in capacity_table.table:
        if name not in Channel.__members__.values():
            raise capacity_table.fail(name, f"unknown channel; use one of {_CHANNEL_NAMES}")
        capacity[Channel(name)] = capacity_table.integer(name)
    shifts = tuple(
        _shift(fields, i, text, zone, start_at, duration_s)
        for i, text in enumerate(fields.items("shifts"))
    )
    flat = tuple(span for day_spans in shifts for span in day_spans)
    if shifts and not flat:
        flat = ((0.0, 0.0),)  # has shifts, none inside the run: never on
    made = []
    for n in range(count):
        agent_id = AgentId(base_id if count == 1 else f"{base_id}-{n + 1}")
        config = agent_config(agent_id, skills, name=agent_id, capacity=capacity)
        made.append(RosterAgent(config, flat))
    return made


def _shift(
    fields: _Fields, index: int, text: Any, zone: ZoneInfo, start_at: float, duration_s: float
) -> list[tuple[float, float]]:
    """A daily "HH:MM-HH:MM" (local time) as spans in seconds after the start, every day."""
    if not isinstance(text, str) or "-" not in text:
        raise fields.fail(f"shifts[{index}]", f'must look like "08:00-16:30", got {text!r}')
    begin, _, end = text.partition("-")
    try:
        begin_t, end_t = time.fromisoformat(begin.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise fields.fail(
            f"shifts[{index}]", f'must look like "08:00-16:30", got {text!r}'
        ) from None
    first_day = datetime.fromtimestamp(start_at, tz=UTC).astimezone(zone).date()
    spans = []
    for offset in range(int(duration_s // 86400) + 2):
        day = first_day + timedelta(days=offset)
        on = datetime.combine(day, begin_t, zone).timestamp() - start_at
        off = datetime.combine(day, end_t, zone).timestamp() - start_at
        if off <= on:
            off += 86400
        on, off = max(on, 0.0), min(off, duration_s)
        if on < off:
            spans.append((on, off))
    return spans
