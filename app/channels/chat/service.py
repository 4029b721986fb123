"""Web chat rules: starting a chat, who may write in it, rating it, and its transcript."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.agents.models import Staff
from app.auth.principals import Principal, PrincipalKind, Role
from app.auth.rate_limit import RateLimiter
from app.auth.tokens import issue_claimant_token
from app.channels.chat import messages
from app.channels.chat.errors import (
    ChatClosedError,
    ChatNotEndedError,
    ChatQueueClosedError,
    ChatStartsLimitedError,
    MessageTooLongError,
    NotInThisChatError,
    UnknownChoiceError,
)
from app.channels.chat.messages import ChatMessage, Draft
from app.channels.chat.schemas import (
    ChatAgent,
    ChatOptions,
    ChatStart,
    ChatStarted,
    ChatStatus,
    Language,
    MessageSend,
    RatingCreate,
    Topic,
)
from app.interactions import service as interactions
from app.interactions.errors import InteractionNotFoundError, InteractionRefusedError
from app.interactions.models import Interaction, SenderKind
from app.interactions.schemas import Customer, InteractionCreate
from app.queues.models import Queue
from app.realtime import grace
from app.realtime.hub import Hub
from app.routing.model import Channel, InteractionState
from app.state import Resources

logger = logging.getLogger(__name__)

# Names the pre-chat form shows for common language codes; others show the code itself.
LANGUAGE_LABELS = {
    "en": "English",
    "es": "Español",
    "vi": "Tiếng Việt",
    "zh": "中文",
    "ru": "Русский",
    "ko": "한국어",
    "tl": "Tagalog",
    "ar": "العربية",
    "fr": "Français",
    "ht": "Kreyòl ayisyen",
    "so": "Soomaali",
}
ENDED_STATES = frozenset(
    {
        InteractionState.WRAP_UP,
        InteractionState.COMPLETED,
        InteractionState.ABANDONED,
        InteractionState.CANCELLED,
    }
)
WAITING_STATES = frozenset(
    {InteractionState.QUEUED, InteractionState.OFFERED, InteractionState.TRANSFERRED}
)
# Who created web chats, for the interaction's history (no integrator or staff did).
WEB_CHAT_CREATOR = "web-chat"

# Interactions a claimant converses in over /ws/chat: chats, and calls (text beside them).
CONVERSATION_CHANNELS = (Channel.CHAT, Channel.VOICE, Channel.VIDEO)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who writes a message, as stored and as shown to the other side."""

    kind: SenderKind
    id: str | None
    author: str | None


async def chat_options(resources: Resources) -> ChatOptions:
    """The languages and topics of the pre-chat form, and its limits."""
    settings = resources.settings
    languages = [
        Language(code=code, label=LANGUAGE_LABELS.get(code, code))
        for code in settings.chat_languages
    ]
    return ChatOptions(
        languages=languages,
        topics=await _topics(resources),
        max_message_chars=settings.chat_message_max_chars,
    )


async def start_chat(
    resources: Resources, body: ChatStart, *, address: str, limiter: RateLimiter
) -> ChatStarted:
    """Route a new chat and store its first message; the claimant gets a token for it."""
    settings = resources.settings
    now = clock.now_s()
    key = f"chat-start:{address}"
    wait_s = await limiter.retry_after_s(key, now=now)
    if wait_s > 0:
        raise ChatStartsLimitedError(wait_s)
    if body.language not in settings.chat_languages:
        raise UnknownChoiceError("body.language", body.language, settings.chat_languages)
    topics = dict(await _topic_queues(resources))
    queue_name = topics.get(body.topic)
    if queue_name is None:
        raise UnknownChoiceError("body.topic", body.topic, sorted(topics))
    _check_length(body.message, settings.chat_message_max_chars, "body.message")
    await limiter.hit(key, now=now)
    created = await _create_interaction(resources, body, queue_name)
    interaction_id = uuid.UUID(str(created["id"]))
    first, _ = await messages.store_message(
        resources.sessions,
        Draft(
            interaction_id=interaction_id,
            sender=SenderKind.CUSTOMER,
            sender_id=None,
            author=body.name,
            body=body.message,
            client_message_id=body.client_message_id,
        ),
    )
    await _publish(resources.hub, first)
    await grace.expect_connection(resources.sessions, grace.CLAIMANT, str(interaction_id))
    token = issue_claimant_token(
        resources.secret_key, interaction_id=str(interaction_id), name=body.name, now=now
    )
    return ChatStarted(
        interaction_id=interaction_id,
        token=token.token,
        token_expires_at=clock.to_datetime(token.expires_at),
        state=created["state"],
        position=created["position"],
        estimated_wait_s=created["estimated_wait_s"],
        message=first.frame(),
    )


async def chat_status(resources: Resources, interaction_id: uuid.UUID) -> ChatStatus:
    """The chat's state, place in line and agent, as its claimant may see them."""
    async with resources.read_sessions() as session:
        row = await _chat(session, interaction_id)
        agent = await agent_first_name(session, row.agent_id)
        seq = await messages.last_seq(session, interaction_id)
    places = await resources.routing.places([interaction_id])
    position, wait_s = places.get(interaction_id, (None, None))
    talking = row.state in (InteractionState.ACTIVE, InteractionState.WRAP_UP)
    return ChatStatus(
        interaction_id=interaction_id,
        state=row.state,
        position=position,
        estimated_wait_s=wait_s,
        agent=ChatAgent(first_name=agent) if agent and talking else None,
        last_seq=seq,
        ended=row.state in ENDED_STATES,
        rating=row.satisfaction_rating,
    )


async def send_message(
    resources: Resources, principal: Principal, interaction_id: uuid.UUID, body: MessageSend
) -> ChatMessage:
    """Store a message from the claimant, the agent holding the chat, or a supervisor."""
    _check_length(body.body, resources.settings.chat_message_max_chars, "body.body")
    async with resources.read_sessions() as session:
        row = await _chat(session, interaction_id)
        sender = await _sender(session, principal, row)
    if row.state in ENDED_STATES:
        raise ChatClosedError()
    message, _ = await messages.store_message(
        resources.sessions,
        Draft(
            interaction_id=interaction_id,
            sender=sender.kind,
            sender_id=sender.id,
            author=sender.author,
            body=body.body,
            client_message_id=body.client_message_id,
        ),
    )
    # Published again for a repeat too: the first publication may be what was lost.
    await _publish(resources.hub, message)
    return message


async def store_internal_note(
    resources: Resources, interaction_id: uuid.UUID, staff_id: str, author: str, note: str
) -> None:
    """A note for the next agent (a warm transfer), never shown to the claimant."""
    message, _ = await messages.store_message(
        resources.sessions,
        Draft(
            interaction_id=interaction_id,
            sender=SenderKind.AGENT,
            sender_id=staff_id,
            author=author,
            body=note,
            internal=True,
        ),
    )
    await _publish(resources.hub, message)


async def list_messages(
    resources: Resources, principal: Principal, interaction_id: uuid.UUID, after_seq: int
) -> list[ChatMessage]:
    """Messages above `after_seq`; internal notes only for staff."""
    async with resources.read_sessions() as session:
        row = await _chat(session, interaction_id)
        await _sender(session, principal, row)
        return await messages.messages_after(
            session,
            interaction_id,
            after_seq,
            include_internal=principal.role is not Role.CLAIMANT,
        )


async def rate_chat(
    resources: Resources, interaction_id: uuid.UUID, body: RatingCreate
) -> ChatStatus:
    """Store the claimant's satisfaction rating (once the chat ended; a new one replaces it)."""
    async with resources.sessions() as session:
        row = await _chat(session, interaction_id)
        if row.state not in ENDED_STATES:
            raise ChatNotEndedError()
        row.satisfaction_rating = body.score
        row.satisfaction_comment = body.comment or None
        await session.commit()
    return await chat_status(resources, interaction_id)


async def chat_transcript(resources: Resources, interaction_id: uuid.UUID) -> str:
    """The chat's visible messages as plain text."""
    async with resources.read_sessions() as session:
        await _chat(session, interaction_id)
        found = await messages.messages_after(session, interaction_id, 0)
    return messages.transcript(found, customer_label="You")


async def agent_first_name(session: AsyncSession, agent_id: uuid.UUID | None) -> str | None:
    """The first name of an agent, the only part of it a claimant sees."""
    if agent_id is None:
        return None
    name = await session.scalar(select(Staff.display_name).where(Staff.id == agent_id))
    return None if name is None else first_name(name)


def first_name(display_name: str) -> str:
    """`María López` → `María`."""
    parts = display_name.split()
    return parts[0] if parts else display_name


async def _create_interaction(
    resources: Resources, body: ChatStart, queue_name: str
) -> dict[str, object]:
    creator = Principal(
        kind=PrincipalKind.CLAIMANT, role=Role.CLAIMANT, subject_id=WEB_CHAT_CREATOR, name=body.name
    )
    create = InteractionCreate(
        channel=Channel(body.channel),
        queue=queue_name,
        customer=Customer(name=body.name, email=body.email),
        language=body.language,
        topic=body.topic[:100],
        attributes={"case_number": body.case_number} if body.case_number else {},
    )
    try:
        response, _ = await interactions.create_interaction(
            sessions=resources.sessions,
            routing=resources.routing,
            locks=resources.idempotency_locks,
            principal=creator,
            body=create,
            idempotency_key=None,
        )
    except InteractionRefusedError as refused:
        if refused.code == "queue_closed":
            raise await _closed(resources, queue_name) from None
        raise
    return response


async def _closed(resources: Resources, queue_name: str) -> ChatQueueClosedError:
    async with resources.read_sessions() as session:
        queue = await session.scalar(select(Queue).where(Queue.name == queue_name))
    if queue is None:
        return ChatQueueClosedError(queue_name, None)
    return ChatQueueClosedError(
        queue_name,
        {
            "time_zone": queue.time_zone,
            "weekly_hours": list(queue.weekly_hours),
            "holidays": list(queue.holidays),
        },
    )


async def _topics(resources: Resources) -> list[Topic]:
    configured = resources.settings.chat_topics
    if configured:
        return [
            Topic(key=topic.key, label=topic.labels.get("en", topic.key), labels=topic.labels)
            for topic in configured
        ]
    names = [key for key, _ in await _topic_queues(resources)]
    return [Topic(key=name, label=name, labels={}) for name in names]


async def _topic_queues(resources: Resources) -> list[tuple[str, str]]:
    """(topic key, queue name) pairs; without configured topics, one per active queue."""
    configured = resources.settings.chat_topics
    if configured:
        return [(topic.key, topic.queue) for topic in configured]
    async with resources.read_sessions() as session:
        names = await session.scalars(
            select(Queue.name).where(Queue.active.is_(True)).order_by(Queue.name)
        )
        return [(name, name) for name in names]


async def _chat(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction:
    row = await session.get(Interaction, interaction_id)
    if row is None or row.channel not in CONVERSATION_CHANNELS:
        raise InteractionNotFoundError()
    return row


async def _sender(session: AsyncSession, principal: Principal, row: Interaction) -> Sender:
    if principal.role is Role.CLAIMANT:
        if principal.interaction_id != str(row.id):
            raise InteractionNotFoundError()
        return Sender(SenderKind.CUSTOMER, None, row.customer_name or principal.name)
    if principal.role in (Role.SUPERVISOR, Role.ADMIN):
        return Sender(SenderKind.SUPERVISOR, principal.subject_id, first_name(principal.name))
    holding = row.state in (InteractionState.ACTIVE, InteractionState.WRAP_UP)
    if principal.role is Role.AGENT and holding and str(row.agent_id) == principal.subject_id:
        return Sender(SenderKind.AGENT, principal.subject_id, first_name(principal.name))
    raise NotInThisChatError()


def _check_length(text: str, limit: int, field: str) -> None:
    if len(text) > limit:
        raise MessageTooLongError(field, limit, len(text))


async def _publish(hub: Hub, message: ChatMessage) -> None:
    # Stored already: a bus failure only delays delivery until the listeners resynchronise
    # (they do when the hub's subscription comes back).
    try:
        await hub.publish_chat(message.frame())
    except Exception as exc:
        logger.warning(
            "chat message %s/%d not published: %s", message.interaction_id, message.seq, exc
        )
