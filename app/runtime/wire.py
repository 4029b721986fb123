"""How the core's events are named and written as JSON: event log, bus and webhooks."""

from __future__ import annotations

import dataclasses
import enum
import functools
import uuid
from typing import Any

from app.clock import to_datetime
from app.routing import events as e

EVENT_TYPES: dict[type[e.Event], str] = {
    e.QueueConfigured: "queue.configured",
    e.QueueRemoved: "queue.removed",
    e.AgentConfigured: "agent.configured",
    e.AgentStateChanged: "agent.state_changed",
    e.InteractionQueued: "interaction.queued",
    e.InteractionRefused: "interaction.refused",
    e.CallbackScheduled: "interaction.callback_scheduled",
    e.InteractionOffered: "interaction.offered",
    e.OfferAccepted: "interaction.accepted",
    e.OfferRejected: "interaction.offer_rejected",
    e.OfferTimedOut: "interaction.offer_timed_out",
    e.OfferRevoked: "interaction.offer_revoked",
    e.InteractionEscalated: "interaction.escalated",
    e.InteractionRequeued: "interaction.requeued",
    e.InteractionReprioritized: "interaction.reprioritized",
    e.InteractionTransferred: "interaction.transferred",
    e.WrapUpStarted: "interaction.wrap_up_started",
    e.InteractionCompleted: "interaction.completed",
    e.InteractionAbandoned: "interaction.abandoned",
    e.InteractionCancelled: "interaction.cancelled",
    e.InteractionRestored: "interaction.restored",
}
# Written by the shell, not the core: a new interaction row was stored.
INTERACTION_CREATED = "interaction.created"

# Fields holding epoch seconds, rendered as ISO-8601 for people and integrators.
_INSTANT_FIELDS = frozenset({"at", "expires_at", "queued_at", "ends_at", "callback_at"})


def event_type(event: e.Event) -> str:
    """The public name of an event, e.g. `interaction.offered`."""
    return EVENT_TYPES[type(event)]


def event_data(event: e.Event) -> dict[str, Any]:
    """The event's fields as JSON-ready values (instants as ISO-8601 UTC strings)."""
    data: dict[str, Any] = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if field.name in _INSTANT_FIELDS and isinstance(value, float):
            data[field.name] = to_datetime(value).isoformat()
        elif isinstance(value, enum.Enum):
            data[field.name] = value.value
        else:
            data[field.name] = value
    return data


def as_uuid(engine_id: str | None) -> uuid.UUID | None:
    """The database id behind an engine id; None for none, or for an engine-made id such as
    an implicit skill queue's (its row keeps the required skills instead)."""
    if engine_id is None:
        return None
    try:
        return parse_uuid(engine_id)
    except ValueError:
        return None


@functools.lru_cache(maxsize=16384)
def parse_uuid(text: str) -> uuid.UUID:
    """`uuid.UUID(text)`, remembered: an interaction's id is parsed again for each of its
    events, on the way to the database and to every desk, and parsing is slow Python."""
    return uuid.UUID(text)


def interaction_id_of(event: e.Event) -> str | None:
    """The interaction an event concerns, if any."""
    return getattr(event, "interaction_id", None)


def agent_id_of(event: e.Event) -> str | None:
    """The agent an event concerns, if any."""
    return getattr(event, "agent_id", None)
