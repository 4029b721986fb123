"""Errors for invalid commands; each has a stable `code` and knows nothing of HTTP."""

from __future__ import annotations


class RoutingError(Exception):
    """Base of every error the engine raises; the engine state is unchanged when raised."""

    code = "routing_error"


class InvalidCommandError(RoutingError):
    """The command's values are inconsistent (e.g. neither queue nor skills)."""

    code = "invalid_command"


class UnknownInteractionError(RoutingError):
    """No open interaction has this id."""

    code = "unknown_interaction"


class DuplicateInteractionError(RoutingError):
    """An interaction with this id is already open."""

    code = "duplicate_interaction"


class UnknownAgentError(RoutingError):
    """No agent has this id."""

    code = "unknown_agent"


class UnknownQueueError(RoutingError):
    """No queue has this id."""

    code = "unknown_queue"


class QueueNotEmptyError(RoutingError):
    """The queue still holds interactions."""

    code = "queue_not_empty"


class QueueFullError(RoutingError):
    """The queue already holds its `max_size` waiting interactions."""

    code = "queue_full"


class AgentUnavailableError(RoutingError):
    """The named agent is not available to take an interaction now (busy or offline)."""

    code = "agent_unavailable"


class InvalidStateError(RoutingError):
    """The interaction is not in a state that allows this command."""

    code = "invalid_state"


class WrongAgentError(RoutingError):
    """The interaction is not offered to or held by this agent."""

    code = "wrong_agent"


class OfferExpiredError(RoutingError):
    """The offer's time-out has passed; the next `Tick` returns the interaction to its queue."""

    code = "offer_expired"
