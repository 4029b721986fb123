"""Chat messages: stored before acknowledged, numbered per chat, each stored once.

Messages change no routing state, so they do not go through the routing writer: any
process stores them. Two processes may pick the same next number at once; the unique
(interaction, seq) constraint refuses the second, which simply tries again. A client's own
message id is unique per chat too, so a re-sent message is found instead of stored twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.interactions.models import Interaction, Message, SenderKind

# Concurrent senders in one chat are few (a claimant and an agent or two): a handful of
# attempts always suffices; more would mean something else is wrong.
STORE_ATTEMPTS = 8
REPLAY_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One stored message, as both sides see it."""

    interaction_id: uuid.UUID
    seq: int
    sender: SenderKind
    sender_id: str | None
    author: str | None
    body: str
    sent_at: datetime
    client_message_id: str | None
    internal: bool = False

    def frame(self) -> dict[str, Any]:
        """The websocket and bus frame of this message."""
        return {
            "type": "message",
            "interaction_id": str(self.interaction_id),
            "seq": self.seq,
            "from": self.sender.value,
            "author": self.author,
            "body": self.body,
            "sent_at": self.sent_at.isoformat(),
            "client_message_id": self.client_message_id,
            "internal": self.internal,
        }


@dataclass(frozen=True, slots=True)
class Draft:
    """A message about to be stored."""

    interaction_id: uuid.UUID
    sender: SenderKind
    sender_id: str | None
    author: str | None
    body: str
    client_message_id: str | None = None
    internal: bool = False


async def store_message(
    sessions: async_sessionmaker[AsyncSession], draft: Draft
) -> tuple[ChatMessage, bool]:
    """Store `draft` under the chat's next number; (message, False) if it was stored before."""
    for _ in range(STORE_ATTEMPTS):
        async with sessions() as session:
            earlier = await _by_client_id(session, draft)
            if earlier is not None:
                return earlier, False
            next_seq = await session.scalar(
                select(func.coalesce(func.max(Message.seq), 0) + 1).where(
                    Message.interaction_id == draft.interaction_id
                )
            )
            row = Message(
                interaction_id=draft.interaction_id,
                seq=int(next_seq or 1),
                sender_kind=draft.sender,
                sender_id=draft.sender_id,
                author=draft.author,
                body=draft.body,
                internal=draft.internal,
                client_message_id=draft.client_message_id,
                created_at=clock.utcnow(),
            )
            session.add(row)
            try:
                # Flushed first: a clash on the number must land in this try, not in the
                # first-response update (which would flush the row on its own).
                await session.flush()
                if draft.sender is SenderKind.AGENT and not draft.internal:
                    await _note_first_response(session, draft.interaction_id, row.created_at)
                await session.commit()
            except IntegrityError:
                await session.rollback()
                continue
            return _message(row), True
    raise RuntimeError(f"could not number a message of {draft.interaction_id}")


async def messages_after(
    session: AsyncSession,
    interaction_id: uuid.UUID,
    after_seq: int,
    *,
    up_to_seq: int | None = None,
    include_internal: bool = False,
) -> list[ChatMessage]:
    """The chat's messages numbered above `after_seq` (and up to `up_to_seq`), in order."""
    query = select(Message).where(Message.interaction_id == interaction_id, Message.seq > after_seq)
    if up_to_seq is not None:
        query = query.where(Message.seq <= up_to_seq)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    rows = await session.scalars(query.order_by(Message.seq).limit(REPLAY_LIMIT))
    return [_message(row) for row in rows]


async def last_seq(session: AsyncSession, interaction_id: uuid.UUID) -> int:
    """The highest message number of the chat (0 for none)."""
    found = await session.scalar(
        select(func.max(Message.seq)).where(Message.interaction_id == interaction_id)
    )
    return int(found or 0)


def transcript(messages: Sequence[ChatMessage], *, customer_label: str) -> str:
    """The chat as plain text, one line per message, for the claimant to keep."""
    lines = []
    for message in messages:
        who = message.author or (
            customer_label if message.sender is SenderKind.CUSTOMER else "Switchboard"
        )
        stamp = message.sent_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"[{stamp}] {who}: {message.body}")
    return "\n".join(lines) + "\n"


async def _by_client_id(session: AsyncSession, draft: Draft) -> ChatMessage | None:
    if draft.client_message_id is None:
        return None
    row = await session.scalar(
        select(Message).where(
            Message.interaction_id == draft.interaction_id,
            Message.client_message_id == draft.client_message_id,
        )
    )
    return None if row is None else _message(row)


async def _note_first_response(
    session: AsyncSession, interaction_id: uuid.UUID, at: datetime
) -> None:
    # DESIGN.md: first response is the first message a person on the agent side wrote.
    await session.execute(
        update(Interaction)
        .where(Interaction.id == interaction_id, Interaction.first_response_at.is_(None))
        .values(first_response_at=at)
    )


def _message(row: Message) -> ChatMessage:
    return ChatMessage(
        interaction_id=row.interaction_id,
        seq=row.seq,
        sender=row.sender_kind,
        sender_id=row.sender_id,
        author=row.author,
        body=row.body,
        sent_at=row.created_at,
        client_message_id=row.client_message_id,
        internal=row.internal,
    )
