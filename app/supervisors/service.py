"""What supervisors do to the live centre: set an agent's state, move an interaction, read a
chat silently, whisper to its agent. Each change goes through the routing writer (or the chat
store) first; the caller records it in the audit log with the request's unit of work."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from app.auth.principals import Principal
from app.channels.chat import messages
from app.channels.chat.errors import ChatClosedError
from app.channels.chat.messages import ChatMessage, Draft
from app.channels.chat.service import first_name
from app.errors import ConflictError, NotFoundError
from app.interactions.errors import InteractionNotFoundError, QueueNotFoundError
from app.interactions.models import Interaction, SenderKind
from app.routing import commands as c
from app.routing.model import AgentId, InteractionId, InteractionState, QueueId
from app.state import Resources
from app.supervisors.schemas import AgentStateSet, MoveRequest

logger = logging.getLogger(__name__)

CLOSED_STATES = frozenset(
    {InteractionState.COMPLETED, InteractionState.ABANDONED, InteractionState.CANCELLED}
)


class AgentNotRoutedError(NotFoundError):
    """The agent is unknown to the routing engine (no such active agent)."""

    code = "agent_not_found"

    def __init__(self) -> None:
        super().__init__("No active agent with that id.")


class InteractionEndedError(ConflictError):
    """The interaction has ended: there is nothing to move."""

    code = "interaction_ended"
    title = "The interaction has ended"

    def __init__(self, state: InteractionState) -> None:
        super().__init__(f"The interaction is {state.value}; only an open one can be moved.")


async def set_agent_state(
    resources: Resources, agent_id: uuid.UUID, body: AgentStateSet
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Put the agent in `body.state`; (presence before, presence after)."""
    routing = resources.routing
    before = await routing.presence(agent_id)
    if before is None:
        raise AgentNotRoutedError()
    await routing.execute(c.SetAgentState(AgentId(str(agent_id)), body.state, body.reason))
    after = await routing.presence(agent_id)
    return before, after or before


async def interaction_row(resources: Resources, interaction_id: uuid.UUID) -> Interaction:
    """The stored interaction, or a 404."""
    async with resources.read_sessions() as session:
        row = await session.get(Interaction, interaction_id)
    if row is None:
        raise InteractionNotFoundError()
    return row


async def move_interaction(
    resources: Resources, principal: Principal, interaction_id: uuid.UUID, body: MoveRequest
) -> Interaction:
    """Transfer an open interaction to another queue or agent (its history is kept); the
    note, if any, is left for the agent who takes it. Answers the row as it was before."""
    before = await interaction_row(resources, interaction_id)
    if before.state in CLOSED_STATES:
        raise InteractionEndedError(before.state)
    routing = resources.routing
    to_queue: QueueId | None = None
    if body.queue is not None:
        found = await routing.resolve_queue(body.queue)
        if found is None:
            raise QueueNotFoundError(body.queue, "body.queue")
        to_queue = found[0]
    to_agent = AgentId(str(body.agent_id)) if body.agent_id else None
    await routing.execute(
        c.Transfer(InteractionId(str(interaction_id)), to_queue=to_queue, to_agent=to_agent)
    )
    if body.note is not None:
        await _store_internal(resources, principal, interaction_id, body.note)
    return before


async def set_priority(
    resources: Resources, interaction_id: uuid.UUID, priority: int
) -> Interaction:
    """Re-rank a waiting interaction by a new priority of its own; answers the row before."""
    before = await interaction_row(resources, interaction_id)
    if before.state in CLOSED_STATES:
        raise InteractionEndedError(before.state)
    await resources.routing.execute(c.SetPriority(InteractionId(str(interaction_id)), priority))
    return before


async def whisper(
    resources: Resources, principal: Principal, interaction_id: uuid.UUID, body: str
) -> ChatMessage:
    """Store a note only the agent side sees, and push it to the desk at once."""
    row = await interaction_row(resources, interaction_id)
    if row.state in CLOSED_STATES:
        raise ChatClosedError()
    return await _store_internal(resources, principal, interaction_id, body)


async def read_messages(
    resources: Resources, interaction_id: uuid.UUID, after_seq: int
) -> list[ChatMessage]:
    """Every message of the interaction above `after_seq`, internal notes included."""
    await interaction_row(resources, interaction_id)
    async with resources.read_sessions() as session:
        return await messages.messages_after(
            session, interaction_id, after_seq, include_internal=True
        )


async def _store_internal(
    resources: Resources, principal: Principal, interaction_id: uuid.UUID, body: str
) -> ChatMessage:
    message, _ = await messages.store_message(
        resources.sessions,
        Draft(
            interaction_id=interaction_id,
            sender=SenderKind.SUPERVISOR,
            sender_id=principal.subject_id,
            author=first_name(principal.name),
            body=body,
            internal=True,
        ),
    )
    # Stored already: were the bus down, the desk would still find it when it re-reads.
    try:
        await resources.hub.publish_chat(message.frame())
    except Exception as exc:
        logger.warning("note %s/%d not published: %s", interaction_id, message.seq, exc)
    return message
