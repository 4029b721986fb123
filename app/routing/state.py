"""The engine's mutable records and indexes (internal to app.routing).

Waiting interactions sit in sorted `Line`s ("buckets", one per queue x escalation tier x
channel x requirement): a waiting interaction is in the line of every bucket of its tier and
channel (usually one), or in its target agent's personal line, or in its queue's line of held
callbacks, and in no other. The engine keeps that exact (`enline` / `unline`), so the first
key of a line is always live. Agents are indexed into "pools" (requirement x channel x
strategy); each pool keeps a heap of agents with free capacity, lazily deleted by a version.

Line keys and timers name an interaction by id rather than holding it, so the garbage
collector untracks them (see lines.py); the engine's `_open` maps the id back.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from app.routing.lines import Line, LineKey
from app.routing.model import (
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    CustomerId,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    Requirement,
    SelectionStrategy,
    meets,
)
from app.routing.policies import selection_key

Q = InteractionState.QUEUED
OFFERED = InteractionState.OFFERED
AVAILABLE = AgentState.AVAILABLE
OFFLINE = AgentState.OFFLINE
_LEAST_OCCUPIED = SelectionStrategy.LEAST_OCCUPIED
_MOST_SKILLED = SelectionStrategy.MOST_SKILLED

CHANNELS: tuple[Channel, ...] = tuple(Channel)
CHANNEL_INDEX: dict[Channel, int] = {channel: i for i, channel in enumerate(CHANNELS)}

# A heap entry for a free agent: (key0, key1, agent id, version, agent); ties go by id so
# that the order does not depend on the order agents were created in.
FreeEntry = tuple[float, float, str, int, "AgentRt"]


@dataclass(slots=True, eq=False)
class Ix:
    """One open interaction."""

    id: InteractionId
    channel: Channel
    ch: int
    queue: QueueRt
    priority: int
    customer_id: CustomerId | None
    arrived_at: float
    queued_at: float
    entered_queue_at: float
    seq: int
    # Unique per Ix object (ids may be reused once closed); timers check it to stay exact.
    uid: int = 0
    state: InteractionState = InteractionState.QUEUED
    tier: int = 0
    ticket: int = 0
    esc_ticket: int = 0
    rank: float = 0.0
    agent: AgentRt | None = None
    target_agent: AgentRt | None = None
    sticky_until: float | None = None
    held_until: float | None = None
    offer_expires_at: float | None = None
    answered_at: float | None = None
    wrap_up_at: float | None = None
    declined: dict[AgentId, float] | None = None
    # (at, what, detail) entries laid end to end in one flat tuple of plain values, which the
    # garbage collector soon stops tracking (a list, or a tuple of tuples, it keeps visiting).
    history: tuple[float | str, ...] = ()
    # `line` counts the position; `extra_lines` are the other alternatives' buckets it is in.
    line: Line | None = None
    line_key: LineKey = (0.0, 0.0, 0, InteractionId(""))
    extra_lines: tuple[Line, ...] = ()


@dataclass(slots=True, eq=False)
class Bucket:
    """The line of waiting interactions sharing queue, tier, channel and one requirement."""

    queue: QueueRt
    pool: Pool
    line: Line = field(default_factory=Line)


@dataclass(slots=True, eq=False)
class Pool:
    """Agents able to take one requirement on one channel, with a heap of those with room."""

    required: Requirement
    channel: Channel
    ch: int
    strategy: SelectionStrategy
    members: set[AgentRt] = field(default_factory=set)
    free: list[FreeEntry] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    # Servers for the estimated wait: the sum of `slots(ch)` over members not offline, kept
    # by the engine so that `position()` does not walk the pool.
    online_slots: int = 0

    def push_free(self, agent: AgentRt) -> None:
        """Index `agent` (which has room on this channel) at its current version."""
        strategy = self.strategy
        # Only the strategy that reads a number pays for it (occupancy scans every channel).
        skill_total = (
            sum(agent.config.skills.get(r.skill, 0) for r in self.required)
            if strategy is _MOST_SKILLED
            else 0
        )
        key = selection_key(
            strategy,
            idle_since=agent.idle_since,
            occupancy=agent.occupancy() if strategy is _LEAST_OCCUPIED else 0.0,
            skill_total=skill_total,
            last_offer_seq=agent.last_offer_seq,
        )
        heapq.heappush(self.free, (key[0], key[1], agent.config.id, agent.version, agent))
        if len(self.free) > 4 * len(self.members) + 64:
            self.free = [e for e in self.free if e[3] == e[4].version]
            heapq.heapify(self.free)

    def best_free(self, declined: dict[AgentId, float] | None, now: float) -> AgentRt | None:
        """The best agent with room, skipping recent decliners; never scans the whole pool."""
        heap = self.free
        skipped: list[FreeEntry] = []
        found = None
        while heap:
            entry = heap[0]
            agent = entry[4]
            if entry[3] != agent.version:
                heapq.heappop(heap)
                continue
            if declined and declined.get(agent.id, -math.inf) > now:
                skipped.append(heapq.heappop(heap))
                continue
            found = agent
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found


@dataclass(slots=True, eq=False)
class QueueRt:
    """A queue's config, its escalation tiers and its buckets."""

    config: QueueConfig
    tiers: list[tuple[tuple[Requirement, ...], int]] = field(default_factory=list)
    buckets: dict[tuple[int, int], tuple[Bucket, ...]] = field(default_factory=dict)
    members: set[Ix] = field(default_factory=set)
    # (queued_at, seq, interaction id) of members, lazily deleted (see queries._oldest).
    age_heap: list[tuple[float, int, InteractionId]] = field(default_factory=list)
    offered: int = 0
    held: Line = field(default_factory=Line)

    @property
    def id(self) -> QueueId:
        """The queue id."""
        return self.config.id


@dataclass(slots=True, eq=False)
class AgentRt:
    """An agent's presence, load and indexes; per-channel numbers are lists by `CHANNEL_INDEX`."""

    config: AgentConfig
    state: AgentState = AgentState.OFFLINE
    reason: str | None = None
    caps: list[int] = field(default_factory=list)
    exclusive: list[bool] = field(default_factory=list)
    load: list[int] = field(default_factory=lambda: [0] * len(CHANNELS))
    total: int = 0
    exclusive_held: int = 0
    holding: set[Ix] = field(default_factory=set)
    version: int = 0
    idle_since: float = 0.0
    last_offer_seq: int = 0
    pools: list[Pool] = field(default_factory=list)
    personal_line: Line = field(default_factory=Line)
    clock_at: float | None = None
    # What `_best_waiting` scans: per channel, the bucket lines of `pools` with their queue's
    # aging; `pools` grouped by channel; the engine topology version both were built at
    # (rebuilt when pools or buckets change).
    plan: list[tuple[int, list[tuple[Line, float]]]] = field(default_factory=list)
    pools_by_ch: list[tuple[int, list[Pool]]] = field(default_factory=list)
    plan_version: int = -1

    def __post_init__(self) -> None:
        self.configure(self.config)

    def configure(self, config: AgentConfig) -> None:
        """Take a new config; capacities become plain lists (enum hashing is slow)."""
        self.config = config
        self.caps = [config.capacity_for(channel) for channel in CHANNELS]
        self.exclusive = [channel in config.exclusive for channel in CHANNELS]

    @property
    def id(self) -> AgentId:
        """The agent id."""
        return self.config.id

    def has_room(self, ch: int) -> bool:
        """True when the agent is available and may take one more interaction on channel `ch`."""
        if self.state is not AVAILABLE or self.exclusive_held:
            return False
        if self.exclusive[ch]:
            return self.total == 0
        return self.load[ch] < self.caps[ch]

    def occupancy(self) -> float:
        """Share of capacity in use, over the channels the agent holds."""
        if not self.total:
            return 0.0
        return max(n / max(1, cap) for n, cap in zip(self.load, self.caps, strict=True))

    def take(self, ix: Ix) -> None:
        """Count `ix` against capacity."""
        ch = ix.ch
        self.load[ch] += 1
        self.total += 1
        if self.exclusive[ch]:
            self.exclusive_held += 1
        self.holding.add(ix)
        self.version += 1

    def release(self, ix: Ix) -> None:
        """Free the capacity `ix` held."""
        ch = ix.ch
        self.load[ch] -= 1
        self.total -= 1
        if self.exclusive[ch]:
            self.exclusive_held -= 1
        self.holding.discard(ix)
        self.version += 1

    def slots(self, ch: int) -> int:
        """How many interactions on channel `ch` the agent can hold (1 if exclusive)."""
        return 1 if self.exclusive[ch] else self.caps[ch]

    def eligible(self, required: Requirement, ch: int) -> bool:
        """True when the agent's skills and capacity fit `required` on channel `ch`."""
        return self.caps[ch] > 0 and meets(self.config.skills, required)


def enline(ix: Ix, line: Line, key: LineKey) -> None:
    """Record that `ix` waits in `line` at `key` (it must not be in a line yet)."""
    line.add(key)
    ix.line, ix.line_key = line, key


def enline_buckets(ix: Ix, buckets: tuple[Bucket, ...], key: LineKey) -> None:
    """Put `ix` in the line of every bucket of its tier; the first one counts its position."""
    enline(ix, buckets[0].line, key)
    if len(buckets) > 1:
        ix.extra_lines = tuple(bucket.line for bucket in buckets[1:])
        for line in ix.extra_lines:
            line.add(key)


def unline(ix: Ix) -> None:
    """Take `ix` out of its lines, if it is in any (it stops waiting or moves)."""
    line = ix.line
    if line is not None:
        key = ix.line_key
        line.remove(key)
        ix.line = None
        if ix.extra_lines:
            for extra in ix.extra_lines:
                extra.remove(key)
            ix.extra_lines = ()
