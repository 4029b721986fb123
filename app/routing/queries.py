"""Read-only queries on the engine: views, position and estimated wait, snapshots, stats."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

from app.routing.model import (
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    InteractionState,
    QueueId,
)
from app.routing.state import CHANNELS, AgentRt, Ix, QueueRt
from app.routing.stats import (
    Counts,
    QueueNow,
    StatsCollector,
    StatsSnapshot,
    agent_interval_rows,
    interval_rows,
    interval_start,
    kpis,
    occupancy,
)


@dataclass(frozen=True, slots=True)
class InteractionView:
    """A read-only copy of an open interaction."""

    id: InteractionId
    state: InteractionState
    channel: Channel
    queue_id: QueueId
    agent_id: AgentId | None
    priority: int
    arrived_at: float
    queued_at: float
    entered_queue_at: float
    seq: int
    tier: int
    target_agent_id: AgentId | None
    # When a hold for `target_agent_id` ends (a returning customer's sticky wait); None for
    # a named transfer, which waits while she is available.
    target_until: float | None
    offer_expires_at: float | None
    answered_at: float | None
    history: tuple[tuple[float, str, str], ...]


@dataclass(frozen=True, slots=True)
class AgentView:
    """A read-only copy of an agent's presence and load."""

    id: AgentId
    name: str
    state: AgentState
    reason: str | None
    load: Mapping[Channel, int]
    interactions: tuple[InteractionId, ...]
    idle_since: float


@dataclass(frozen=True, slots=True)
class QueueView:
    """A read-only summary of one queue now."""

    id: QueueId
    name: str
    waiting: int
    offered: int
    oldest_queued_at: float | None
    eligible_agents: int
    available_agents: int


@dataclass(frozen=True, slots=True)
class ChannelNow:
    """One channel's share of a queue now: waiting, being offered, and the oldest in line."""

    waiting: int
    offered: int
    oldest_queued_at: float | None


class QueriesMixin:
    """Queries over the engine's state; they never change routing."""

    _open: dict[InteractionId, Ix]
    _queues: dict[QueueId, QueueRt]
    _agents: dict[AgentId, AgentRt]
    collector: StatsCollector

    def interaction(self, interaction_id: InteractionId) -> InteractionView | None:
        """The open interaction `interaction_id`, or None once it ended or if unknown."""
        ix = self._open.get(interaction_id)
        if ix is None:
            return None
        return InteractionView(
            id=ix.id,
            state=ix.state,
            channel=ix.channel,
            queue_id=ix.queue.id,
            agent_id=ix.agent.id if ix.agent else None,
            priority=ix.priority,
            arrived_at=ix.arrived_at,
            queued_at=ix.queued_at,
            entered_queue_at=ix.entered_queue_at,
            seq=ix.seq,
            tier=ix.tier,
            target_agent_id=ix.target_agent.id if ix.target_agent else None,
            target_until=ix.sticky_until,
            offer_expires_at=ix.offer_expires_at,
            answered_at=ix.answered_at,
            history=_history_entries(ix.history),
        )

    def interaction_ids(self) -> list[InteractionId]:
        """Ids of every open interaction."""
        return list(self._open)

    def agent(self, agent_id: AgentId) -> AgentView | None:
        """The agent `agent_id`, or None if unknown."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return None
        return AgentView(
            id=agent.id,
            name=agent.config.name,
            state=agent.state,
            reason=agent.reason,
            load=MappingProxyType({CHANNELS[i]: n for i, n in enumerate(agent.load) if n}),
            interactions=tuple(sorted(ix.id for ix in agent.holding)),
            idle_since=agent.idle_since,
        )

    def agent_ids(self) -> list[AgentId]:
        """Ids of every agent."""
        return list(self._agents)

    def queue(self, queue_id: QueueId) -> QueueView | None:
        """A summary of queue `queue_id`, or None if unknown."""
        queue = self._queues.get(queue_id)
        if queue is None:
            return None
        eligible = _eligible_agents(queue)
        return QueueView(
            id=queue.id,
            name=queue.config.name,
            waiting=len(queue.members) - queue.offered,
            offered=queue.offered,
            oldest_queued_at=_oldest(queue, self._open),
            eligible_agents=len(eligible),
            available_agents=sum(a.state is AgentState.AVAILABLE for a in eligible),
        )

    def queue_channels(self, queue_id: QueueId) -> dict[Channel, ChannelNow]:
        """Per channel with anything in queue `queue_id`: waiting, offered, oldest queued_at.

        The counts add up to `queue()`'s; one pass over the queue's members, so a supervisor
        can split a queue by channel without the engine keeping more counters.
        """
        queue = self._queues.get(queue_id)
        if queue is None:
            return {}
        waiting: dict[Channel, int] = {}
        offered: dict[Channel, int] = {}
        oldest: dict[Channel, float] = {}
        for ix in queue.members:
            channel = ix.channel
            if ix.state is InteractionState.OFFERED:
                offered[channel] = offered.get(channel, 0) + 1
            else:
                waiting[channel] = waiting.get(channel, 0) + 1
            if channel not in oldest or ix.queued_at < oldest[channel]:
                oldest[channel] = ix.queued_at
        return {
            channel: ChannelNow(
                waiting=waiting.get(channel, 0),
                offered=offered.get(channel, 0),
                oldest_queued_at=oldest[channel],
            )
            for channel in CHANNELS
            if channel in oldest
        }

    def queue_ids(self) -> list[QueueId]:
        """Ids of every queue, implicit ones included."""
        return list(self._queues)

    def position(
        self, interaction_id: InteractionId, now: float | None = None
    ) -> tuple[int, float | None] | None:
        """(1-based position, estimated wait in s) of a waiting interaction; (0, 0) if offered.

        Position counts the interactions ahead in the same line: the main bucket of its tier
        and channel, its target agent's personal line, or its queue's held callbacks. Each
        line is an order-statistics list, so the count costs O(sqrt n), and the server count
        is kept per pool. The estimate is position x recent AHT / servers able to take it,
        plus, for a held callback, the time until the queue opens (pass `now`). None when the
        interaction is not waiting; the estimate is None when no agent could take it.
        """
        ix = self._open.get(interaction_id)
        if ix is None or ix.state not in (InteractionState.QUEUED, InteractionState.OFFERED):
            return None
        if ix.state is InteractionState.OFFERED:
            return (0, 0.0)
        line = ix.line
        # Count by (rank, queued_at, seq) only: the id in the key is not part of the order.
        ahead = line.rank(ix.line_key[:3]) if line is not None else 0
        wait_s = self._estimated_wait_s(ix, ahead + 1)
        if wait_s is not None and ix.held_until is not None:
            wait_s += max(0.0, ix.held_until - (ix.queued_at if now is None else now))
        return (ahead + 1, wait_s)

    def _estimated_wait_s(self, ix: Ix, position: int) -> float | None:
        queue = ix.queue
        aht = self.collector.recent_aht_s(queue.id) or queue.config.expected_handle_s
        target = ix.target_agent
        buckets = queue.buckets.get((ix.tier, ix.ch), ())
        if target is not None:
            servers = target.slots(ix.ch) if target.state is not AgentState.OFFLINE else 0
        elif len(buckets) == 1:
            # One requirement: its pool keeps the count of online slots.
            servers = buckets[0].pool.online_slots
        else:
            agents = _eligible_agents(queue, ix.tier, ix.ch)
            servers = sum(
                agent.slots(ix.ch) for agent in agents if agent.state is not AgentState.OFFLINE
            )
        if servers == 0:
            return None
        return position * aht / servers

    def stats(self, now: float) -> StatsSnapshot:
        """Real-time counts, totals and 15-minute interval rows, per queue and per agent."""
        collector = self.collector
        queues = {}
        current = interval_start(now)
        for queue_id, queue in self._queues.items():
            oldest = _oldest(queue, self._open)
            queues[queue_id] = QueueNow(
                queue_id=queue_id,
                waiting=len(queue.members) - queue.offered,
                offered=queue.offered,
                oldest_wait_s=None if oldest is None else max(0.0, now - oldest),
                totals=kpis(queue_id, collector.totals.get(queue_id, Counts())),
                current_interval=kpis(
                    queue_id, collector.intervals.get((queue_id, current), Counts())
                ),
            )
        by_state = {state.value: 0 for state in AgentState}
        for agent in self._agents.values():
            by_state[agent.state.value] += 1
        handling = sum(t.handling_s for t in collector.agent_time.values())
        available = sum(t.available_s for t in collector.agent_time.values())
        return StatsSnapshot(
            at=now,
            queues=queues,
            agents_by_state=by_state,
            occupancy=occupancy(handling, available),
            intervals=interval_rows(collector),
            agent_intervals=agent_interval_rows(collector),
        )


def _eligible_agents(queue: QueueRt, tier: int = 0, ch: int | None = None) -> set[AgentRt]:
    agents: set[AgentRt] = set()
    for (bucket_tier, bucket_ch), buckets in queue.buckets.items():
        if bucket_tier != tier or (ch is not None and bucket_ch != ch):
            continue
        for bucket in buckets:
            agents |= bucket.pool.members
    return agents


def _history_entries(flat: tuple[float | str, ...]) -> tuple[tuple[float, str, str], ...]:
    """Regroup an interaction's flat history (see `Ix.history`) into (at, what, detail)."""
    return tuple(cast(tuple[float, str, str], flat[i : i + 3]) for i in range(0, len(flat), 3))


def _oldest(queue: QueueRt, open_: Mapping[InteractionId, Ix]) -> float | None:
    heap = queue.age_heap
    while heap:
        queued_at, _, interaction_id = heap[0]
        ix = open_.get(interaction_id)
        if (
            ix is not None
            and ix in queue.members
            and ix.queued_at == queued_at
            and ix.queue is queue
        ):
            return queued_at
        heapq.heappop(heap)
    return None
