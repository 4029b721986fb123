"""The live view's figures and alerts, from aggregates: plain functions, no I/O.

Metric definitions are DESIGN.md's, applied by `app.routing.stats` (the same code the engine
and the simulator use): service level = answered within the threshold / (answered +
abandoned after it); abandon rate = abandoned / (answered + abandoned); ASA = mean wait of
answered; AHT = mean handle time (active + wrap-up) of completed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.routing.model import QueueId
from app.routing.stats import Counts, kpis
from app.supervisors.repository import (
    ABANDONED,
    ACCEPTED,
    COMPLETED,
    QUEUED,
    EventTotals,
    QueueSettings,
)

# Contacts waiting while no agent who could take them is available.
NO_AGENTS = "no_agent_available"
SERVICE_LEVEL_LOW = "service_level_below_target"
OLDEST_WAIT_HIGH = "oldest_wait_over_limit"
WAITING_HIGH = "waiting_over_limit"


def counts_by_queue(totals: Iterable[EventTotals], *, window: bool) -> dict[str, Counts]:
    """Fold per-event-type sums into `Counts` per queue (the day's, or the window's)."""
    found: dict[str, Counts] = {}
    for row in totals:
        count, wait_s, within, after, handle_s = row.window if window else row.day
        counts = found.setdefault(row.queue_id, Counts())
        if row.type == QUEUED:
            counts.arrived += count
        elif row.type == ACCEPTED:
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
