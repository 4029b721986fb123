"""The engine's mutable records and indexes (internal to app.routing).

Waiting interactions sit in heaps ("buckets", one per queue x escalation tier x channel x
requirement) with lazy deletion: an entry is live while its ticket equals the interaction's.
Agents are indexed into "pools" (requirement x channel x strategy); each pool keeps a heap of
agents with free capacity, also lazily deleted by a version number.

Beside the heaps, every waiting interaction sits in exactly one `Line` (the main bucket of its
tier and channel, its target agent's personal line, or its queue's held callbacks) so that its
position costs O(sqrt n); `enline` and `unline` keep that in step with the heaps' live entries.
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

# A heap entry for a waiting interaction: (rank, queued_at, seq, ticket, interaction).
WaitEntry = tuple[float, float, int, int, "Ix"]
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
    history: list[tuple[float, str, str]] = field(default_factory=list)
    line: Line | None = None
    line_key: LineKey = (0.0, 0.0, 0)


@dataclass(slots=True, eq=False)
class Bucket:
    """A heap of waiting interactions sharing queue, tier, channel and one requirement."""

    queue: QueueRt
    pool: Pool
    heap: list[WaitEntry] = field(default_factory=list)
    line: Line = field(default_factory=Line)

    def head(self) -> WaitEntry | None:
        """The first live entry, dropping stale ones on the way."""
        heap = self.heap
        while heap:
            entry = heap[0]
            ix = entry[4]
            if entry[3] == ix.ticket and ix.state is Q:
                return entry
            heapq.heappop(heap)
        return None


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
    age_heap: list[tuple[float, int, Ix]] = field(default_factory=list)
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
    personal: list[WaitEntry] = field(default_factory=list)
    personal_line: Line = field(default_factory=Line)
    clock_at: float | None = None
    # What `_best_waiting` scans, flattened from `pools` (channel, bucket, queue aging), and
    # the engine topology version it was built at; rebuilt when pools or buckets change.
    plan: list[tuple[int, Bucket, float]] = field(default_factory=list)
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


def personal_head(agent: AgentRt) -> WaitEntry | None:
    """The first live entry among interactions waiting for this agent in particular."""
    heap = agent.personal
    while heap:
        entry = heap[0]
        ix = entry[4]
        if entry[3] == ix.ticket and ix.state is Q and ix.target_agent is agent:
            return entry
        heapq.heappop(heap)
    return None


def enline(ix: Ix, line: Line, key: LineKey) -> None:
    """Record that `ix` waits in `line` at `key` (it must not be in a line yet)."""
    line.add(key)
    ix.line, ix.line_key = line, key


def unline(ix: Ix) -> None:
    """Take `ix` out of its line, if it is in one (it stops waiting or moves)."""
    line = ix.line
    if line is not None:
        line.remove(ix.line_key)
        ix.line = None
