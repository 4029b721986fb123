"""Commands: everything that can change the engine, one frozen dataclass each."""

from __future__ import annotations

from dataclasses import dataclass

from app.routing.model import (
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    CustomerId,
    InteractionId,
    QueueConfig,
    QueueId,
    Requirement,
)


@dataclass(frozen=True, slots=True)
class UpsertQueue:
    """Create or reconfigure a queue; waiting interactions keep their place."""

    config: QueueConfig


@dataclass(frozen=True, slots=True)
class RemoveQueue:
    """Remove an empty queue."""

    queue_id: QueueId


@dataclass(frozen=True, slots=True)
class UpsertAgent:
    """Create or reconfigure an agent (skills, capacity); a new agent starts offline."""

    config: AgentConfig


@dataclass(frozen=True, slots=True)
class SetAgentState:
    """Change an agent's presence; `reason` applies to `busy`."""

    agent_id: AgentId
    state: AgentState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Arrive:
    """A new interaction for `queue_id`, or for an implicit queue made from `skills`."""

    interaction_id: InteractionId
    channel: Channel
    queue_id: QueueId | None = None
    skills: Requirement | None = None
    priority: int = 0
    customer_id: CustomerId | None = None
    preferred_agent: AgentId | None = None
    queued_at: float | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    """The agent accepts the interaction offered to them."""

    interaction_id: InteractionId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class Reject:
    """The agent declines the offer; the interaction returns to its place."""

    interaction_id: InteractionId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class Abandon:
    """The customer left before being answered."""

    interaction_id: InteractionId


@dataclass(frozen=True, slots=True)
class Cancel:
    """The interaction is withdrawn (by the system or a supervisor) in any open state."""

    interaction_id: InteractionId


@dataclass(frozen=True, slots=True)
class Complete:
    """The agent ends handling; wrap-up starts (and ends at once if the queue has none)."""

    interaction_id: InteractionId


@dataclass(frozen=True, slots=True)
class FinishWrapUp:
    """The agent is done with wrap-up; the capacity is free again."""

    interaction_id: InteractionId


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move an open interaction to another queue or to a named agent, keeping its history."""

    interaction_id: InteractionId
    to_queue: QueueId | None = None
    to_agent: AgentId | None = None


@dataclass(frozen=True, slots=True)
class SetPriority:
    """Give a waiting interaction another priority of its own; it takes its new place in
    line at once (a supervisor's action)."""

    interaction_id: InteractionId
    priority: int


@dataclass(frozen=True, slots=True)
class Tick:
    """Fire every timer due at `now` (offer time-outs, escalations, wrap-up ends, callbacks)."""


@dataclass(frozen=True, slots=True)
class RestoreAgent:
    """Recovery: put an agent back with its presence, without routing anything yet."""

    config: AgentConfig
    state: AgentState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RestoreQueued:
    """Recovery: put a waiting interaction back with its original order keys; does not route.

    `seq` is the FIFO tie-break from the `InteractionQueued` event; `tier` is how many
    escalation steps of `queue_id` had fired; `entered_queue_at` is when it entered that queue.
    """

    interaction_id: InteractionId
    channel: Channel
    queue_id: QueueId
    queued_at: float
    seq: int
    priority: int = 0
    customer_id: CustomerId | None = None
    tier: int = 0
    entered_queue_at: float | None = None
    arrived_at: float | None = None
    target_agent: AgentId | None = None
    # With `target_agent`: when the hold ends (a sticky wait); None holds it while she is
    # available (a named transfer).
    target_until: float | None = None


@dataclass(frozen=True, slots=True)
class RestoreAssigned:
    """Recovery: put an active or wrap-up interaction back on its agent (counts on capacity)."""

    interaction_id: InteractionId
    channel: Channel
    queue_id: QueueId
    agent_id: AgentId
    wrap_up: bool
    queued_at: float
    answered_at: float
    seq: int = 0
    priority: int = 0
    customer_id: CustomerId | None = None
    wrap_up_started_at: float | None = None


Command = (
    UpsertQueue
    | RemoveQueue
    | UpsertAgent
    | SetAgentState
    | Arrive
    | Accept
    | Reject
    | Abandon
    | Cancel
    | Complete
    | FinishWrapUp
    | Transfer
    | SetPriority
    | Tick
    | RestoreAgent
    | RestoreQueued
    | RestoreAssigned
)
