"""The live view's figures and alerts, from aggregates: plain functions, no I/O.

Metric definitions are DESIGN.md's, applied by `app.routing.stats` (the same code the engine
and the simulator use): service level = answered within the threshold / (answered +
abandoned after it); abandon rate = abandoned / (answered + abandoned); ASA = mean wait of
answered; AHT = mean handle time (active + wrap-up) of completed. The rows are
`app.interactions.counted`'s, so a voice or video call is answered when it connects.
Every figure is given per queue, per (queue, channel) and for the whole centre.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.interactions.counted import ABANDONED, ANSWERED, COMPLETED, QUEUED
from app.routing.model import Channel, QueueId
from app.routing.stats import Counts, kpis
from app.supervisors.repository import AgentDayTotals, EventTotals, QueueSettings

# Contacts waiting while no agent who could take them is available.
NO_AGENTS = "no_agent_available"
SERVICE_LEVEL_LOW = "service_level_below_target"
OLDEST_WAIT_HIGH = "oldest_wait_over_limit"
WAITING_HIGH = "waiting_over_limit"
# Channels are listed in this order (then any unknown one, by name).
CHANNEL_ORDER = tuple(channel.value for channel in Channel)

Key = TypeVar("Key", bound=Hashable)


def counts_by_queue(totals: Iterable[EventTotals], *, window: bool) -> dict[str, Counts]:
    """Fold per-event-type sums into `Counts` per queue, all channels together (the day's,
    or the window's)."""
    return _fold(totals, window, lambda row: row.queue_id)


def counts_by_queue_channel(
    totals: Iterable[EventTotals], *, window: bool
) -> dict[tuple[str, str], Counts]:
    """Fold per-event-type sums into `Counts` per (queue, channel); they add up to
    `counts_by_queue`'s."""
    return _fold(totals, window, lambda row: (row.queue_id, row.channel))


def counts_by_channel(counts: Mapping[tuple[str, str], Counts]) -> dict[str, Counts]:
    """Per-(queue, channel) counts summed over the queues: the whole centre per channel."""
    found: dict[str, Counts] = {}
    for (_, channel), part in counts.items():
        found.setdefault(channel, Counts()).add(part)
    return found


def sum_counts(counts: Iterable[Counts]) -> Counts:
    """The sum of `counts` (within/after were judged against each queue's own threshold, so
    a sum over queues is still DESIGN.md's service level)."""
    total = Counts()
    for part in counts:
        total.add(part)
    return total


def _fold(
    totals: Iterable[EventTotals], window: bool, key: Callable[[EventTotals], Key]
) -> dict[Key, Counts]:
    found: dict[Key, Counts] = {}
    for row in totals:
        count, wait_s, within, after, handle_s = row.window if window else row.day
        counts = found.setdefault(key(row), Counts())
        if row.type == QUEUED:
            counts.arrived += count
        elif row.type == ANSWERED:
            counts.answered += count
            counts.answered_wait_s += wait_s
            counts.answered_within += within
        elif row.type == ABANDONED:
            counts.abandoned += count
            counts.abandoned_wait_s += wait_s
            counts.abandoned_after += after
        elif row.type == COMPLETED:
            counts.completed += count
            counts.handle_s += handle_s
    return found


def period_figures(queue_id: str, counts: Counts | None) -> dict[str, Any]:
    """One queue's counts and metrics over a period, as JSON."""
    figures = kpis(QueueId(queue_id), counts or Counts())
    return {
        "arrived": figures.arrived,
        "answered": figures.answered,
        "abandoned": figures.abandoned,
        "completed": figures.completed,
        "asa_s": _round(figures.asa_s, 1),
        "service_level": _round(figures.service_level, 4),
        "abandon_rate": _round(figures.abandon_rate, 4),
        "aht_s": _round(figures.aht_s, 1),
    }


def channel_split(
    queue_id: str,
    now: Mapping[str, Mapping[str, Any]],
    day: Mapping[str, Counts],
    window: Mapping[str, Counts],
) -> dict[str, dict[str, Any]]:
    """`by_channel` of a queue (or of the centre): per channel with anything waiting or
    offered now (`now`: the engine's waiting, offered and oldest wait per channel) or any
    activity today or in the window, those figures and the period figures."""
    shown = [
        channel
        for channel in _ordered({*now, *day, *window})
        if channel in now or _active(day.get(channel)) or _active(window.get(channel))
    ]
    split: dict[str, dict[str, Any]] = {}
    for channel in shown:
        current = now.get(channel, {})
        split[channel] = {
            "waiting": int(current.get("waiting", 0)),
            "offering": int(current.get("offered", 0)),
            "oldest_wait_s": current.get("oldest_wait_s"),
            "today": period_figures(queue_id, day.get(channel)),
            "last_30_min": period_figures(queue_id, window.get(channel)),
        }
    return split


def by_queue(counts: Mapping[tuple[str, str], Counts]) -> dict[str, dict[str, Counts]]:
    """Per-(queue, channel) counts regrouped per queue, then channel."""
    found: dict[str, dict[str, Counts]] = {}
    for (queue_id, channel), part in counts.items():
        found.setdefault(queue_id, {})[channel] = part
    return found


def centre_totals(
    queues: Sequence[Mapping[str, Any]],
    day: Mapping[tuple[str, str], Counts],
    window: Mapping[tuple[str, str], Counts],
) -> dict[str, Any]:
    """The whole centre: the queues' counts now summed (oldest wait: the longest), and the
    day's and the window's figures over every queue counted, in all and by channel."""
    now: dict[str, dict[str, Any]] = {}
    for queue in queues:
        for channel, part in queue.get("by_channel", {}).items():
            merged = now.setdefault(channel, {"waiting": 0, "offered": 0, "oldest_wait_s": None})
            merged["waiting"] += part["waiting"]
            merged["offered"] += part["offering"]
            merged["oldest_wait_s"] = _longest(merged["oldest_wait_s"], part["oldest_wait_s"])
    oldest: float | None = None
    for queue in queues:
        oldest = _longest(oldest, queue["oldest_wait_s"])
    day_by_channel = counts_by_channel(day)
    window_by_channel = counts_by_channel(window)
    return {
        "waiting": sum(int(queue["waiting"]) for queue in queues),
        "offering": sum(int(queue["offering"]) for queue in queues),
        "oldest_wait_s": oldest,
        "today": period_figures("", sum_counts(day_by_channel.values())),
        "last_30_min": period_figures("", sum_counts(window_by_channel.values())),
        "by_channel": channel_split("", now, day_by_channel, window_by_channel),
    }


@dataclass(frozen=True, slots=True)
class AgentDay:
    """One agent's day so far: completions and their handle time, and completions per channel."""

    completed: int
    handle_s: float
    by_channel: dict[str, int]


def agent_days(rows: Iterable[AgentDayTotals]) -> dict[str, AgentDay]:
    """Fold per-(agent, channel) completions into each agent's day."""
    completed: dict[str, int] = {}
    handle_s: dict[str, float] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for row in rows:
        completed[row.agent_id] = completed.get(row.agent_id, 0) + row.completed
        handle_s[row.agent_id] = handle_s.get(row.agent_id, 0.0) + row.handle_s
        channels = by_channel.setdefault(row.agent_id, {})
        channels[row.channel] = channels.get(row.channel, 0) + row.completed
    return {
        agent_id: AgentDay(
            completed=count,
            handle_s=handle_s[agent_id],
            by_channel={
                channel: by_channel[agent_id][channel] for channel in _ordered(by_channel[agent_id])
            },
        )
        for agent_id, count in completed.items()
    }


def _active(counts: Counts | None) -> bool:
    return counts is not None and (
        counts.arrived + counts.answered + counts.abandoned + counts.completed > 0
    )


def _ordered(channels: Collection[str]) -> list[str]:
    known = [channel for channel in CHANNEL_ORDER if channel in channels]
    return known + sorted(set(channels) - set(CHANNEL_ORDER))


def _longest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class AlertLimits:
    """The limits one queue is held to (its rule, else its service-level settings)."""

    min_service_level: float
    max_oldest_wait_s: float
    max_waiting: int | None


def limits_of(settings: QueueSettings | None) -> AlertLimits:
    """A queue's alert limits: its own rule where set, else its target and threshold."""
    if settings is None:  # an implicit (skills) queue: the engine's defaults
        return AlertLimits(min_service_level=0.8, max_oldest_wait_s=60.0, max_waiting=None)
    return AlertLimits(
        min_service_level=settings.min_service_level or settings.target,
        max_oldest_wait_s=settings.max_oldest_wait_s or settings.threshold_s,
        max_waiting=settings.max_waiting,
    )


def queue_alerts(queue: Mapping[str, Any], limits: AlertLimits) -> list[dict[str, Any]]:
    """The alerts one queue raises now.

    Service level is judged over the rolling window (what is happening now), or over the
    day when nothing was answered or abandoned in the window.
    """
    alerts: list[dict[str, Any]] = []
    name = queue["name"]
    level = queue["last_30_min"]["service_level"]
    if level is None:
        level = queue["today"]["service_level"]
    if level is not None and level < limits.min_service_level:
        alerts.append(
            _alert(
                queue,
                SERVICE_LEVEL_LOW,
                f"{name}: service level {level:.0%} is under its target of "
                f"{limits.min_service_level:.0%}",
                level,
                limits.min_service_level,
            )
        )
    oldest = queue["oldest_wait_s"]
    if oldest is not None and oldest > limits.max_oldest_wait_s:
        alerts.append(
            _alert(
                queue,
                OLDEST_WAIT_HIGH,
                f"{name}: the oldest contact has waited {_duration(oldest)} "
                f"(limit {_duration(limits.max_oldest_wait_s)})",
                oldest,
                limits.max_oldest_wait_s,
            )
        )
    waiting = queue["waiting"]
    if limits.max_waiting is not None and waiting > limits.max_waiting:
        alerts.append(
            _alert(
                queue,
                WAITING_HIGH,
                f"{name}: {waiting} waiting (limit {limits.max_waiting})",
                waiting,
                limits.max_waiting,
            )
        )
    if waiting > 0 and queue["available_agents"] == 0:
        alerts.append(
            _alert(
                queue,
                NO_AGENTS,
                f"{name}: {waiting} waiting and no agent who can take them is available",
                waiting,
                0,
            )
        )
    return alerts


def _alert(
    queue: Mapping[str, Any], code: str, message: str, value: float, limit: float
) -> dict[str, Any]:
    return {
        "queue_id": queue["queue_id"],
        "queue": queue["name"],
        "code": code,
        "message": message,
        "value": value,
        "limit": limit,
    }


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
