"""One snapshot of the whole centre for the supervisor dashboard: queues, agents, alerts.

Counts now (waiting, oldest wait, agents and their load) come from the routing engine on
every build. The day's and the rolling window's figures come from the database, by two
aggregate queries re-run at most every `FIGURES_EVERY_S` seconds, so many builds a minute
cost the database little. Each queue, and the centre as a whole (`totals`), is also split
by channel (`by_channel`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.routing.stats import Counts
from app.runtime import reads
from app.state import Resources
from app.supervisors import figures, repository
from app.supervisors.repository import EventTotals, QueueSettings

logger = logging.getLogger(__name__)

FIGURES_EVERY_S = 5.0
WINDOW_S = 30 * 60
DEFAULT_THRESHOLD_S = 60.0


@dataclass
class _Stored:
    """The database part of the snapshot, as last read."""

    read_at: float = float("-inf")
    day_start: datetime | None = None
    settings: dict[str, QueueSettings] = field(default_factory=dict)
    day: dict[str, Counts] = field(default_factory=dict)
    window: dict[str, Counts] = field(default_factory=dict)
    day_by_channel: dict[tuple[str, str], Counts] = field(default_factory=dict)
    window_by_channel: dict[tuple[str, str], Counts] = field(default_factory=dict)
    # The same, per queue then channel, for the queues' splits.
    day_channels: dict[str, dict[str, Counts]] = field(default_factory=dict)
    window_channels: dict[str, dict[str, Counts]] = field(default_factory=dict)
    agents_day: dict[str, figures.AgentDay] = field(default_factory=dict)
    capacities: dict[str, dict[str, Any]] = field(default_factory=dict)


class SnapshotBuilder:
    """Builds snapshots of one process's view of the centre (call `build` once per tick)."""

    def __init__(self, resources: Resources, *, figures_every_s: float = FIGURES_EVERY_S) -> None:
        self._resources = resources
        self._figures_every_s = figures_every_s
        self._zone = ZoneInfo(resources.settings.supervisor_time_zone)
        self._stored = _Stored()
        # When each (queue, alert) was first seen, so the dashboard can say for how long.
        self._alert_since: dict[tuple[str, str], str] = {}

    def expire_figures(self) -> None:
        """Re-read the database figures on the next build (after a change worth seeing)."""
        self._stored.read_at = float("-inf")

    async def build(self) -> dict[str, Any]:
        """A snapshot of every queue and agent now, with the alerts they raise."""
        routing = self._resources.routing
        queue_now = await routing.query(reads.QUEUE_STATS)
        agent_now = await routing.query(reads.AGENT_STATS)
        now = clock.now_s()
        stored = await self._stored_figures(now)
        async with self._resources.read_sessions() as session:
            since = await repository.presence_since(session)
        queues = [self._queue(row, stored) for row in queue_now["queues"]]
        agents = [self._agent(row, stored, since) for row in agent_now["agents"]]
        agents.sort(key=lambda agent: str(agent["name"]).lower())
        return {
            "at": clock.to_datetime(now).isoformat(),
            "day_start": stored.day_start.isoformat() if stored.day_start else None,
            "window_s": WINDOW_S,
            "figures_at": clock.to_datetime(stored.read_at).isoformat(),
            "queues": queues,
            "agents": agents,
            "agents_by_state": agent_now["agents_by_state"],
            "totals": figures.centre_totals(
                queues, stored.day_by_channel, stored.window_by_channel
            ),
            "alerts": self._alerts(queues, stored),
        }

    async def _stored_figures(self, now: float) -> _Stored:
        if now - self._stored.read_at < self._figures_every_s:
            return self._stored
        day_start = self._day_start(now)
        window_start = clock.to_datetime(now - WINDOW_S)
        async with self._resources.read_sessions() as session:
            settings = await repository.queue_settings(session)
            totals: list[EventTotals] = await repository.event_totals(
                session,
                day_start=day_start,
                window_start=window_start,
                thresholds_s={key: value.threshold_s for key, value in settings.items()},
                default_threshold_s=DEFAULT_THRESHOLD_S,
            )
            agents_day = figures.agent_days(
                await repository.agent_day_totals(session, day_start=day_start)
            )
            capacities = await repository.agent_capacities(session)
        day_by_channel = figures.counts_by_queue_channel(totals, window=False)
        window_by_channel = figures.counts_by_queue_channel(totals, window=True)
        self._stored = _Stored(
            read_at=now,
            day_start=day_start,
            settings=settings,
            day=figures.counts_by_queue(totals, window=False),
            window=figures.counts_by_queue(totals, window=True),
            day_by_channel=day_by_channel,
            window_by_channel=window_by_channel,
            day_channels=figures.by_queue(day_by_channel),
            window_channels=figures.by_queue(window_by_channel),
            agents_day=agents_day,
            capacities=capacities,
        )
        return self._stored

    def _day_start(self, now: float) -> datetime:
        return day_start_in(self._zone, now)

    def _queue(self, row: dict[str, Any], stored: _Stored) -> dict[str, Any]:
        queue_id = str(row["queue_id"])
        settings = stored.settings.get(queue_id)
        limits = figures.limits_of(settings)
        return {
            "queue_id": queue_id,
            "name": row["name"],
            "waiting": row["waiting"],
            "offering": row["offered"],
            "oldest_wait_s": row["oldest_wait_s"],
            "eligible_agents": row["eligible_agents"],
            "available_agents": row["available_agents"],
            "service_level_target": settings.target if settings else 0.8,
            "service_level_threshold_s": settings.threshold_s if settings else DEFAULT_THRESHOLD_S,
            "today": figures.period_figures(queue_id, stored.day.get(queue_id)),
            "last_30_min": figures.period_figures(queue_id, stored.window.get(queue_id)),
            "by_channel": figures.channel_split(
                queue_id,
                row.get("by_channel", {}),
                stored.day_channels.get(queue_id, {}),
                stored.window_channels.get(queue_id, {}),
            ),
            "alert_limits": {
                "min_service_level": limits.min_service_level,
                "max_oldest_wait_s": limits.max_oldest_wait_s,
                "max_waiting": limits.max_waiting,
            },
        }

    def _agent(
        self, row: dict[str, Any], stored: _Stored, since: dict[str, datetime]
    ) -> dict[str, Any]:
        agent_id = str(row["agent_id"])
        day = stored.agents_day.get(agent_id)
        handled, handle_s = (day.completed, day.handle_s) if day else (0, 0.0)
        changed = since.get(agent_id)
        return {
            "agent_id": agent_id,
            "name": row["name"],
            "state": row["state"],
            "reason": row["reason"],
            "state_since": changed.isoformat() if changed else None,
            "load": row["load"],
            "capacity": stored.capacities.get(agent_id, {}),
            "interactions": row["interactions"],
            "handled_today": handled,
            "handled_today_by_channel": day.by_channel if day else {},
            "aht_today_s": round(handle_s / handled, 1) if handled else None,
        }

    def _alerts(self, queues: list[dict[str, Any]], stored: _Stored) -> list[dict[str, Any]]:
        raised: list[dict[str, Any]] = []
        now = clock.utcnow().isoformat()
        seen: set[tuple[str, str]] = set()
        for queue in queues:
            limits = figures.limits_of(stored.settings.get(queue["queue_id"]))
            for alert in figures.queue_alerts(queue, limits):
                key = (alert["queue_id"], alert["code"])
                seen.add(key)
                alert["since"] = self._alert_since.setdefault(key, now)
                raised.append(alert)
        for gone in set(self._alert_since) - seen:
            del self._alert_since[gone]
        return raised


def day_start_in(zone: ZoneInfo, now: float) -> datetime:
    """Local midnight of `now` in `zone`, as an aware UTC datetime."""
    local = clock.to_datetime(now).astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
