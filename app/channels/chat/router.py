"""HTTP routes of web chat: the pre-chat form, starting a chat, messages, rating, transcript."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.channels.chat import service
from app.channels.chat.schemas import (
    ChatOptions,
    ChatStart,
    ChatStarted,
    ChatStatus,
    MessageList,
    MessageSend,
    RatingCreate,
)
from app.interactions.errors import InteractionNotFoundError
from app.state import ResourcesDep

router = APIRouter(prefix="/chats", tags=["web chat"])

Participant = Annotated[
    Principal, Depends(require_roles(Role.CLAIMANT, Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
]
Claimant = Annotated[Principal, Depends(require_roles(Role.CLAIMANT))]
UNKNOWN_ADDRESS = "unknown"


@router.get("/options", summary="Choices of the pre-chat form")
async def get_chat_options(resources: ResourcesDep) -> ChatOptions:
    """Languages, topics and limits for the pre-chat form. Open to anyone."""
    return await service.chat_options(resources)


@router.post(
    "",
    status_code=201,
    summary="Start a web chat",
    responses=problems(
        413,
        429,
        described={
            409: "The topic's queue is closed (the body has its hours) or full",
            422: "Invalid field, unknown topic or language, or a message over the limit",
            503: "Routing cannot store right now; retry after Retry-After",
        },
    ),
)
async def start_chat(body: ChatStart, request: Request, resources: ResourcesDep) -> ChatStarted:
    """Open to anyone, limited per client address. Routes the chat to its topic's queue,
    stores the first message, and answers with a claimant token for `/ws/chat`."""
    address = request.client.host if request.client else UNKNOWN_ADDRESS
    return await service.start_chat(resources, body, address=address, limiter=resources.chat_starts)


@router.get("/{interaction_id}", summary="Read a chat's status", responses=problems(401, 403, 404))
async def get_chat(
    interaction_id: uuid.UUID, resources: ResourcesDep, principal: Participant
) -> ChatStatus:
    """State, place in line and agent; a claimant reaches only their own chat."""
    _check_reach(principal, interaction_id)
    return await service.chat_status(resources, interaction_id)


@router.get(
    "/{interaction_id}/messages",
    summary="Read a chat's messages",
    responses=problems(401, 403, 404, 422),
)
async def list_chat_messages(
    interaction_id: uuid.UUID,
    resources: ResourcesDep,
    principal: Participant,
    after_seq: Annotated[int, Query(ge=0)] = 0,
) -> MessageList:
    """Messages numbered above `after_seq`, in order (internal notes for staff only)."""
    _check_reach(principal, interaction_id)
    found = await service.list_messages(resources, principal, interaction_id, after_seq)
    return MessageList(messages=[message.frame() for message in found])


@router.post(
    "/{interaction_id}/messages",
    status_code=201,
    summary="Send a chat message",
    responses=problems(401, 403, 404, 422, described={409: "The chat has ended"}),
)
async def send_chat_message(
    interaction_id: uuid.UUID, body: MessageSend, resources: ResourcesDep, principal: Participant
) -> dict[str, object]:
    """Store a message (the claimant, the agent holding the chat, or a supervisor) and
    deliver it; a repeat of the same `client_message_id` is stored once."""
    _check_reach(principal, interaction_id)
    message = await service.send_message(resources, principal, interaction_id, body)
    return message.frame()


@router.post(
    "/{interaction_id}/rating",
    summary="Rate a chat (claimant)",
    responses=problems(401, 403, 404, 422, described={409: "The chat has not ended"}),
)
async def rate_chat(
    interaction_id: uuid.UUID, body: RatingCreate, resources: ResourcesDep, principal: Claimant
) -> ChatStatus:
    """The claimant's satisfaction, 1 to 5 with an optional comment; a new one replaces it."""
    _check_reach(principal, interaction_id)
    return await service.rate_chat(resources, interaction_id, body)


@router.get(
    "/{interaction_id}/transcript",
    summary="Download a chat's transcript",
    response_class=PlainTextResponse,
    responses=problems(401, 403, 404),
)
async def get_chat_transcript(
    interaction_id: uuid.UUID, resources: ResourcesDep, principal: Participant
) -> PlainTextResponse:
    """The visible messages as plain text, one line each, as a file to keep."""
    _check_reach(principal, interaction_id)
    text = await service.chat_transcript(resources, interaction_id)
    filename = f"chat-{interaction_id}.txt"
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _check_reach(principal: Principal, interaction_id: uuid.UUID) -> None:
    if not principal.may_read_interaction(str(interaction_id)):
        raise InteractionNotFoundError()
