"""Events: what happened, one frozen dataclass each, every one stamped with `at`."""

from __future__ import annotations

from dataclasses import dataclass

from app.routing.model import AgentId, AgentState, Channel, InteractionId, QueueId


@dataclass(frozen=True, slots=True)
class QueueConfigured:
    """A queue was created or reconfigured."""

    at: float
    queue_id: QueueId


@dataclass(frozen=True, slots=True)
class QueueRemoved:
    """A queue was removed."""

    at: float
    queue_id: QueueId


@dataclass(frozen=True, slots=True)
class AgentConfigured:
    """An agent was created or reconfigured."""

    at: float
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent's presence changed."""

    at: float
    agent_id: AgentId
    state: AgentState
    reason: str | None
    previous: AgentState


@dataclass(frozen=True, slots=True)
class InteractionQueued:
    """An interaction started waiting; persist `queued_at` and `seq` to restore its order."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    channel: Channel
    priority: int
    queued_at: float
    seq: int


@dataclass(frozen=True, slots=True)
class InteractionRefused:
    """An arrival was not accepted; `reason` is "queue_full" or "closed"."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    reason: str


@dataclass(frozen=True, slots=True)
class CallbackScheduled:
    """The queue was closed; the interaction waits and enters routing at `callback_at`."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    callback_at: float


@dataclass(frozen=True, slots=True)
class InteractionOffered:
    """The interaction is reserved for `agent_id` until `expires_at`."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    expires_at: float


@dataclass(frozen=True, slots=True)
class OfferAccepted:
    """The agent took the interaction; `wait_s` = answered - queued."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    wait_s: float


@dataclass(frozen=True, slots=True)
class OfferRejected:
    """The agent declined; the interaction went back to its place."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class OfferTimedOut:
    """The offer expired; the interaction went back to its place."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class OfferRevoked:
    """An open offer was withdrawn because the agent went offline or was reconfigured."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class InteractionEscalated:
    """Escalation step `step` of `queue_id` fired; `to_queue_id` differs on overflow."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    step: int
    to_queue_id: QueueId


@dataclass(frozen=True, slots=True)
class InteractionRequeued:
    """A waiting interaction held for one agent is open to its whole queue again: `reason`
    is "sticky_expired" (the returning customer's agent had no room in time), "agent_busy"
    or "agent_offline" (she left available)."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    reason: str


@dataclass(frozen=True, slots=True)
class InteractionReprioritized:
    """A waiting interaction's own priority changed from `from_priority` to `priority`."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    from_priority: int
    priority: int


@dataclass(frozen=True, slots=True)
class InteractionTransferred:
    """The interaction moved to another queue or agent and was queued again."""

    at: float
    interaction_id: InteractionId
    from_queue_id: QueueId
    from_agent_id: AgentId | None
    to_queue_id: QueueId
    to_agent_id: AgentId | None


@dataclass(frozen=True, slots=True)
class WrapUpStarted:
    """Handling ended; wrap-up runs until `ends_at` or until finished."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    ends_at: float


@dataclass(frozen=True, slots=True)
class InteractionCompleted:
    """Wrap-up ended; `handle_s` = active + wrap-up time with this agent."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    handle_s: float


@dataclass(frozen=True, slots=True)
class InteractionAbandoned:
    """The customer left while waiting; `wait_s` = abandoned - queued."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    wait_s: float


@dataclass(frozen=True, slots=True)
class InteractionCancelled:
    """The interaction was withdrawn."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId


@dataclass(frozen=True, slots=True)
class InteractionRestored:
    """Recovery put an interaction back in `state`."""

    at: float
    interaction_id: InteractionId
    queue_id: QueueId
    state: str


Event = (
    QueueConfigured
    | QueueRemoved
    | AgentConfigured
    | AgentStateChanged
    | InteractionQueued
    | InteractionRefused
    | CallbackScheduled
    | InteractionOffered
    | OfferAccepted
    | OfferRejected
    | OfferTimedOut
    | OfferRevoked
    | InteractionEscalated
    | InteractionRequeued
    | InteractionReprioritized
    | InteractionTransferred
    | WrapUpStarted
    | InteractionCompleted
    | InteractionAbandoned
    | InteractionCancelled
    | InteractionRestored
)
