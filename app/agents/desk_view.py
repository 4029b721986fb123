"""What an agent desk shows, read from the database without ORM objects.

The desk re-reads this on every burst of routing events, so it is one statement for all of
the agent's offers and chats (with their queue and what a chat frame needs), one for the
claimants' connections of new chats, and one per new customer for the history.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.interactions.models import Interaction, Message
from app.queues.models import Queue
from app.realtime import grace
from app.realtime.models import SocketPresence
from app.routing.model import InteractionState

HISTORY_LIMIT = 5
SHOWN_STATES = (InteractionState.OFFERED, InteractionState.ACTIVE, InteractionState.WRAP_UP)


@dataclass(frozen=True, slots=True)
class DeskItem:
    """One offer or chat of the agent, with what its frames need."""

    id: uuid.UUID
    state: InteractionState
    channel: str
    queue_id: uuid.UUID | None
    queue_name: str | None
    offer_timeout_s: int | None
    wrap_up_s: int | None
    queued_at: datetime | None
    offered_at: datetime | None
    answered_at: datetime | None
    wrap_up_at: datetime | None
    customer_id: str | None
    customer_name: str | None
    language: str | None
    contact: dict[str, Any]
    attributes: dict[str, Any]
    topic: str | None
    last_seq: int
    note: str | None

    @property
    def queue(self) -> dict[str, str] | None:
        """The queue as frames show it."""
        if self.queue_id is None or self.queue_name is None:
            return None
        return {"id": str(self.queue_id), "name": self.queue_name}

    @property
    def offer_expires_at(self) -> datetime | None:
        """When the offer times out."""
        if self.offered_at is None or self.offer_timeout_s is None:
            return None
        return self.offered_at + timedelta(seconds=self.offer_timeout_s)

    @property
    def wrap_up_ends_at(self) -> datetime | None:
        """When wrap-up runs out (only while in wrap-up)."""
        if self.state is not InteractionState.WRAP_UP or self.wrap_up_at is None:
            return None
        if self.wrap_up_s is None:
            return None
        return self.wrap_up_at + timedelta(seconds=self.wrap_up_s)


def _desk_statement() -> Any:
    last_seq = (
        select(func.max(Message.seq))
        .where(Message.interaction_id == Interaction.id)
        .scalar_subquery()
    )
    # The warm-transfer note the receiving agent reads first: the latest internal message.
    note = (
        select(Message.body)
        .where(Message.interaction_id == Interaction.id, Message.internal.is_(True))
        .order_by(Message.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Interaction.agent_id,
            Interaction.id,
            Interaction.state,
            Interaction.channel,
            Interaction.queue_id,
            Queue.name,
            Queue.offer_timeout_s,
            Queue.wrap_up_s,
            Interaction.queued_at,
            Interaction.offered_at,
            Interaction.answered_at,
            Interaction.wrap_up_at,
            Interaction.customer_id,
            Interaction.customer_name,
            Interaction.language,
            Interaction.customer_contact,
            Interaction.attributes,
            Interaction.topic,
            last_seq,
            note,
        )
        .outerjoin(Queue, Queue.id == Interaction.queue_id)
        .where(
            Interaction.agent_id.in_(bindparam("agent_ids", expanding=True)),
            Interaction.state.in_(SHOWN_STATES),
        )
        .order_by(Interaction.offered_at)
    )


# Built once: building and keying a statement costs more than running it on a warm cache.
_DESK = _desk_statement()
_CONNECTED = select(SocketPresence.subject_id).where(
    SocketPresence.kind == grace.CLAIMANT,
    SocketPresence.subject_id.in_(bindparam("subjects", expanding=True)),
    SocketPresence.disconnected_at.is_(None),
)
_HISTORY_COLUMNS = (
    Interaction.id,
    Interaction.channel,
    Interaction.created_at,
    Interaction.state,
    Interaction.topic,
)
_HISTORY_BY_CUSTOMER_ID = (
    select(*_HISTORY_COLUMNS)
    .where(
        Interaction.customer_id == bindparam("customer_id"),
        Interaction.id != bindparam("interaction_id"),
    )
    .order_by(Interaction.created_at.desc())
    .limit(HISTORY_LIMIT)
)


async def read_desks(
    connection: AsyncConnection, agent_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[DeskItem]]:
    """Each agent's offers and chats, oldest offer first (an agent with none: an empty list)."""
    desks: dict[uuid.UUID, list[DeskItem]] = {agent_id: [] for agent_id in agent_ids}
    rows = await connection.execute(_DESK, {"agent_ids": list(desks)})
    for row in rows:
        desks[row[0]].append(_item(row[1:]))
    return desks


def _item(row: Any) -> DeskItem:
    return DeskItem(
        id=row[0],
        state=InteractionState(row[1]),
        channel=_value(row[2]),
        queue_id=row[3],
        queue_name=row[4],
        offer_timeout_s=row[5],
        wrap_up_s=row[6],
        queued_at=row[7],
        offered_at=row[8],
        answered_at=row[9],
        wrap_up_at=row[10],
        customer_id=row[11],
        customer_name=row[12],
        language=row[13],
        contact=row[14] or {},
        attributes=row[15] or {},
        topic=row[16],
        last_seq=int(row[17] or 0),
        note=row[18],
    )


class DeskReads:
    """The desk reads of one process, made together: every desk that asks in the same turn of
    the event loop (one routing batch's events reach many desks at once) shares one statement
    and one pooled connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: dict[uuid.UUID, list[asyncio.Future[list[DeskItem]]]] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    async def read(self, agent_id: uuid.UUID) -> list[DeskItem]:
        """The agent's offers and chats, read with whatever other desks asked meanwhile."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[DeskItem]] = loop.create_future()
        if not self._waiting:
            # Scheduled once per turn: the desks woken by the same frames join this read.
            loop.call_soon(self._start_flush)
        self._waiting.setdefault(agent_id, []).append(answer)
        return await answer

    def _start_flush(self) -> None:
        task = asyncio.create_task(self._flush(), name="desk-reads")
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        try:
            async with self._engine.connect() as connection:
                desks = await read_desks(connection, waiting)
        except Exception as exc:
            for answers in waiting.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
            return
        for agent_id, answers in waiting.items():
            for answer in answers:
                if not answer.done():
                    answer.set_result(desks[agent_id])


async def connected_claimants(
    connection: AsyncConnection, interaction_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these chats have their claimant's socket open, as any process recorded."""
    subjects = {str(one): one for one in interaction_ids}
    if not subjects:
        return set()
    rows = await connection.execute(_CONNECTED, {"subjects": list(subjects)})
    return {subjects[row[0]] for row in rows if row[0] in subjects}


async def customer_history(connection: AsyncConnection, item: DeskItem) -> list[dict[str, Any]]:
    """The customer's earlier interactions, newest first (by their id, else their email)."""
    email = item.contact.get("email")
    if item.customer_id and not email:
        rows = await connection.execute(
            _HISTORY_BY_CUSTOMER_ID, {"customer_id": item.customer_id, "interaction_id": item.id}
        )
        return [_history_entry(row) for row in rows]
    same: list[Any] = []
    if item.customer_id:
        same.append(Interaction.customer_id == item.customer_id)
    if email:
        same.append(Interaction.customer_contact["email"].as_string() == email)
    if not same:
        return []
    rows = await connection.execute(
        select(*_HISTORY_COLUMNS)
        .where(or_(*same), Interaction.id != item.id)
        .order_by(Interaction.created_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return [_history_entry(row) for row in rows]


def _history_entry(row: Any) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "channel": _value(row[1]),
        "created_at": iso(row[2]),
        "state": _value(row[3]),
        "topic": row[4],
    }


def iso(moment: datetime | None) -> str | None:
    """A timestamp as frames carry it."""
    return None if moment is None else moment.isoformat()


def _value(enum_or_text: Any) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))
