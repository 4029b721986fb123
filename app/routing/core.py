"""The engine's state and the small operations every part of it shares (internal).

`Engine` (engine.py) is assembled from layers, each adding one concept on top of this one:
escalation.py (escalation steps), offers.py (routing, offers and freed capacity), timers.py
(the timer heap and `Tick`), recovery.py (the restore commands), queries.py (read-only views).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

from app.routing import events as e
from app.routing.errors import (
    InvalidCommandError,
    UnknownAgentError,
    UnknownInteractionError,
    UnknownQueueError,
)
from app.routing.model import (
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    CustomerId,
    InteractionId,
    QueueId,
    Requirement,
    SelectionStrategy,
)
from app.routing.state import AVAILABLE, OFFLINE, AgentRt, Ix, Pool, QueueRt
from app.routing.stats import StatsCollector

# Timer kinds; a timer is (due, order, kind, interaction id, interaction uid, ticket): ids
# rather than the interaction itself, so that the garbage collector untracks pending timers.
OFFER_TIMER, ESCALATE_TIMER, WRAP_TIMER, STICKY_TIMER, CALLBACK_TIMER, RETRY_TIMER = range(6)
Timer = tuple[float, int, int, InteractionId, int, int]
# Customers whose last agent sticky queues remember, the most recently served kept: a
# long-running engine would otherwise keep one entry for every customer it ever served.
STICKY_MEMORY_LIMIT = 100_000


class EngineCore:
    """The engine's records and indexes, with lookups, time accounting and timer pushes."""

    def __init__(self) -> None:
        self._queues: dict[QueueId, QueueRt] = {}
        self._agents: dict[AgentId, AgentRt] = {}
        self._open: dict[InteractionId, Ix] = {}
        self._pools: dict[tuple[Requirement, Channel, SelectionStrategy], Pool] = {}
        self._by_skill: dict[str, set[AgentRt]] = {}
        self._timers: list[Timer] = []
        self._timer_seq = 0
        self._next_seq = 0
        self._offer_seq = 0
        self._ix_count = 0
        # Bumped whenever a pool or bucket appears or goes, or an agent's pools change: the
        # agents' cached scan plans (`AgentRt.plan`) are rebuilt when it moves.
        self._topology = 0
        self._last_agent: OrderedDict[CustomerId, AgentId] = OrderedDict()
        self._restored = False
        self.collector = StatsCollector()

    def _remember_last_agent(self, customer_id: CustomerId, agent_id: AgentId) -> None:
        """Remember who served the customer; the longest-unserved customer is forgotten
        once more than `STICKY_MEMORY_LIMIT` are remembered."""
        memory = self._last_agent
        memory[customer_id] = agent_id
        memory.move_to_end(customer_id)
        if len(memory) > STICKY_MEMORY_LIMIT:
            memory.popitem(last=False)

    # ---- agents: configuration and presence ----------------------------------------------

    def _install_agent(self, config: AgentConfig, now: float) -> AgentRt:
        _validate_agent(config)
        agent = self._agents.get(config.id)
        if agent is None:
            agent = self._agents[config.id] = AgentRt(config, idle_since=now)
        else:
            self._clock(agent, now)
            self._unindex_agent(agent)
            agent.configure(config)
        for skill in config.skills:
            self._by_skill.setdefault(skill, set()).add(agent)
        online = agent.state is not OFFLINE
        for pool in self._pools.values():
            if agent.eligible(pool.required, pool.ch):
                pool.members.add(agent)
                agent.pools.append(pool)
                if online:
                    pool.online_slots += agent.slots(pool.ch)
        agent.version += 1
        self._topology += 1
        return agent

    def _unindex_agent(self, agent: AgentRt) -> None:
        for skill in agent.config.skills:
            self._by_skill.get(skill, set()).discard(agent)
        online = agent.state is not OFFLINE
        for pool in agent.pools:
            pool.members.discard(agent)
            if online:
                pool.online_slots -= agent.slots(pool.ch)
        agent.pools = []
        self._topology += 1

    def _change_state(
        self, agent: AgentRt, state: AgentState, reason: str | None, now: float, out: list[e.Event]
    ) -> None:
        if agent.state is state and agent.reason == reason:
            return
        self._clock(agent, now)
        previous = agent.state
        if (previous is OFFLINE) != (state is OFFLINE):
            sign = 1 if previous is OFFLINE else -1
            for pool in agent.pools:
                pool.online_slots += sign * agent.slots(pool.ch)
        agent.state, agent.reason = state, reason
        agent.version += 1
        if state is AVAILABLE:
            agent.idle_since = now
        agent.clock_at = None if state is OFFLINE else now
        out.append(e.AgentStateChanged(now, agent.id, state, reason, previous))

    def _clock(self, agent: AgentRt, now: float) -> None:
        """Account the agent's time since the last change (for occupancy)."""
        clock_at = agent.clock_at
        state = agent.state
        # An empty span records nothing, so skip the call (the common case: twice at one now).
        if clock_at is not None and state is AVAILABLE and clock_at < now:
            self.collector.agent_span(agent.config.id, clock_at, now, agent.total > 0)
        if state is not OFFLINE:
            agent.clock_at = now

    # ---- small shared steps --------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _add_timer(self, due: float, kind: int, ix: Ix, ticket: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, kind, ix.id, ix.uid, ticket))

    def _take_uid(self) -> int:
        self._ix_count += 1
        return self._ix_count

    def _ix(self, interaction_id: InteractionId) -> Ix:
        ix = self._open.get(interaction_id)
        if ix is None:
            raise UnknownInteractionError(interaction_id)
        return ix

    def _agent(self, agent_id: AgentId) -> AgentRt:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent

    def _queue(self, queue_id: QueueId) -> QueueRt:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueueError(queue_id)
        return queue


def _validate_agent(config: AgentConfig) -> None:
    for skill, level in config.skills.items():
        if not 1 <= level <= 10:
            raise InvalidCommandError(f"skill {skill} level {level} is outside 1..10")
    if any(n < 0 for n in config.capacity.values()):
        raise InvalidCommandError("capacity must be >= 0")
