"""What an agent desk shows, read from the database without ORM objects.

The desk re-reads where its offers and chats stand on every burst of routing events, and
what their frames show only for those it has not shown yet. Every read is shared by the desks
that ask in the same turn of the event loop: one statement for where all their offers and
chats stand, one for the details of the new ones (with their queue and what a chat frame
needs), one for the claimants' connections of new chats, and one for the histories of new
customers known by id (one each by email).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.interactions.models import Interaction, Message
from app.queues.models import Queue
from app.realtime import grace
from app.realtime.models import SocketPresence
from app.routing.model import InteractionState

HISTORY_LIMIT = 5
SHOWN_STATES = (InteractionState.OFFERED, InteractionState.ACTIVE, InteractionState.WRAP_UP)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# Reads the values of many keys on one connection.
Fetch = Callable[[AsyncConnection, list[K]], Awaitable[dict[K, V]]]


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
        return _wrap_up_ends_at(self.state, self.wrap_up_at, self.wrap_up_s)


@dataclass(frozen=True, slots=True)
class DeskEntry:
    """Where one offer or chat of the agent stands: enough to tell what changed."""

    id: uuid.UUID
    state: InteractionState
    wrap_up_ends_at: datetime | None


def _wrap_up_ends_at(
    state: InteractionState, wrap_up_at: datetime | None, wrap_up_s: int | None
) -> datetime | None:
    if state is not InteractionState.WRAP_UP or wrap_up_at is None or wrap_up_s is None:
        return None
    return wrap_up_at + timedelta(seconds=wrap_up_s)


def _entries_statement() -> Any:
    return (
        select(
            Interaction.agent_id,
            Interaction.id,
            Interaction.state,
            Interaction.wrap_up_at,
            Queue.wrap_up_s,
        )
        .outerjoin(Queue, Queue.id == Interaction.queue_id)
        .where(
            Interaction.agent_id.in_(bindparam("agent_ids", expanding=True)),
            Interaction.state.in_(SHOWN_STATES),
        )
        .order_by(Interaction.offered_at)
    )


def _items_statement() -> Any:
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
        .where(Interaction.id.in_(bindparam("ids", expanding=True)))
    )


# Built once: building and keying a statement costs more than running it on a warm cache.
_ENTRIES = _entries_statement()
_ITEMS = _items_statement()
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


def _recent_by_customer_ids() -> Any:
    newest = (
        func.row_number()
        .over(partition_by=Interaction.customer_id, order_by=Interaction.created_at.desc())
        .label("newest")
    )
    ranked = (
        select(Interaction.customer_id, *_HISTORY_COLUMNS, newest)
        .where(Interaction.customer_id.in_(bindparam("customer_ids", expanding=True)))
        .subquery()
    )
    return (
        select(
            ranked.c.customer_id,
            ranked.c.id,
            ranked.c.channel,
            ranked.c.created_at,
            ranked.c.state,
            ranked.c.topic,
        )
        .where(ranked.c.newest <= bindparam("keep"))
        .order_by(ranked.c.customer_id, ranked.c.newest)
    )


_RECENT_BY_CUSTOMER_IDS = _recent_by_customer_ids()


async def read_desks(
    connection: AsyncConnection, agent_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DeskEntry]]:
    """Where each agent's offers and chats stand, oldest offer first (none: an empty list)."""
    desks: dict[uuid.UUID, list[DeskEntry]] = {agent_id: [] for agent_id in agent_ids}
    rows = await connection.execute(_ENTRIES, {"agent_ids": list(desks)})
    for agent_id, interaction_id, state, wrap_up_at, wrap_up_s in rows:
        shown = InteractionState(state)
        ends_at = _wrap_up_ends_at(shown, wrap_up_at, wrap_up_s)
        desks[agent_id].append(DeskEntry(interaction_id, shown, ends_at))
    return desks


async def read_items(
    connection: AsyncConnection, interaction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, DeskItem | None]:
    """What the frames of these offers and chats show (an unknown id: None)."""
    items: dict[uuid.UUID, DeskItem | None] = dict.fromkeys(interaction_ids)
    rows = await connection.execute(_ITEMS, {"ids": list(items)})
    for row in rows:
        items[row[0]] = _item(row)
    return items


# An offer or chat with its customer's earlier interactions, newest first.
ItemWithHistory = tuple[DeskItem, list[dict[str, Any]]]


async def read_items_with_histories(
    connection: AsyncConnection, interaction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ItemWithHistory | None]:
    """`read_items`, then the histories of the items found, on the same connection."""
    items = await read_items(connection, interaction_ids)
    requests = {one: HistoryRequest.of(item) for one, item in items.items() if item is not None}
    histories = await customer_histories(connection, list(requests.values()))
    return {
        one: None if item is None else (item, histories[requests[one]])
        for one, item in items.items()
    }


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


class TurnReads(Generic[K, V]):
    """Reads asked for in the same turn of the event loop, made together: one routing batch's
    events reach many desks at once, and they share one pooled connection and one `fetch`."""

    def __init__(self, engine: AsyncEngine, fetch: Fetch[K, V], name: str) -> None:
        self._engine = engine
        self._fetch = fetch
        self._name = name
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    def ask_many(self, keys: Iterable[K]) -> Coroutine[Any, Any, dict[K, V]]:
        """Ask for `keys` now, joining this turn's read; await the result for their values.

        Asking happens at the call, not at the first await: a desk that asks for several
        reads and then awaits each still has them all made in this turn, with no tasks."""
        loop = asyncio.get_running_loop()
        answers: dict[K, asyncio.Future[V]] = {}
        for key in keys:
            if not self._waiting:
                # Its first step runs next turn: every desk woken in this turn asks first.
                self._start_flush()
            answers[key] = loop.create_future()
            self._waiting.setdefault(key, []).append(answers[key])
        return _answered(answers)

    def _start_flush(self) -> None:
        task = asyncio.create_task(self._flush(), name=self._name)
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        try:
            async with self._engine.connect() as connection:
                values = await self._fetch(connection, list(waiting))
        except Exception as exc:
            for answers in waiting.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
            return
        for key, answers in waiting.items():
            for answer in answers:
                if not answer.done():
                    answer.set_result(values[key])


async def _answered(answers: dict[K, asyncio.Future[V]]) -> dict[K, V]:
    return {key: await answer for key, answer in answers.items()}


class DeskReads:
    """The desk reads of one process, each shared by the desks that ask in the same turn:
    offers and chats, customers' histories, claimants' connections."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._desks = TurnReads(engine, read_desks, "desk-reads")
        self._items = TurnReads(engine, read_items, "desk-items")
        self._items_with_histories = TurnReads(
            engine, read_items_with_histories, "desk-items-histories"
        )
        self._histories = TurnReads(engine, customer_histories, "desk-histories")
        self._connected = TurnReads(engine, claimants_connected, "desk-claimants")

    # Each read is asked at the call and awaited by the caller (see `TurnReads.ask_many`).

    def read(self, agent_id: uuid.UUID) -> Coroutine[Any, Any, list[DeskEntry]]:
        """Where the agent's offers and chats stand, oldest offer first."""
        return _one(self._desks.ask_many([agent_id]), agent_id)

    def items(
        self, interaction_ids: Iterable[uuid.UUID]
    ) -> Coroutine[Any, Any, dict[uuid.UUID, DeskItem]]:
        """What the frames of these offers and chats show, by id; no read when none."""
        return _present(self._items.ask_many(interaction_ids))

    def items_with_histories(
        self, interaction_ids: Iterable[uuid.UUID]
    ) -> Coroutine[Any, Any, dict[uuid.UUID, ItemWithHistory]]:
        """What the frames of these new offers show and their customers' histories, by id,
        in one read (an offer's frame waits for both); no read when none."""
        return _present(self._items_with_histories.ask_many(interaction_ids))

    def histories(
        self, items: Iterable[DeskItem]
    ) -> Coroutine[Any, Any, dict[uuid.UUID, list[dict[str, Any]]]]:
        """Each item's customer's earlier interactions, newest first, by interaction id."""
        return _by_interaction(self._histories.ask_many(HistoryRequest.of(item) for item in items))

    def connected(
        self, interaction_ids: Iterable[uuid.UUID]
    ) -> Coroutine[Any, Any, set[uuid.UUID]]:
        """Which of these chats have their claimant's socket open, as any process recorded."""
        return _true(self._connected.ask_many(interaction_ids))


async def _one(asked: Awaitable[dict[K, V]], key: K) -> V:
    return (await asked)[key]


async def _present(asked: Awaitable[dict[K, V | None]]) -> dict[K, V]:
    return {key: value for key, value in (await asked).items() if value}


async def _by_interaction(
    asked: Awaitable[dict[HistoryRequest, list[dict[str, Any]]]],
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    return {request.interaction_id: history for request, history in (await asked).items()}


async def _true(asked: Awaitable[dict[K, bool]]) -> set[K]:
    return {key for key, value in (await asked).items() if value}


async def claimants_connected(
    connection: AsyncConnection, interaction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, bool]:
    """For each chat, whether its claimant's socket is open, as any process recorded."""
    subjects = {str(one): one for one in interaction_ids}
    connected = {one: False for one in interaction_ids}
    if not subjects:
        return connected
    rows = await connection.execute(_CONNECTED, {"subjects": list(subjects)})
    for row in rows:
        if row[0] in subjects:
            connected[subjects[row[0]]] = True
    return connected


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """Whose history an item's frames show: the customer's id, else their email."""

    interaction_id: uuid.UUID
    customer_id: str | None
    email: str | None

    @classmethod
    def of(cls, item: DeskItem) -> HistoryRequest:
        """The request for one offer or chat."""
        email = item.contact.get("email")
        return cls(item.id, item.customer_id, email if isinstance(email, str) else None)


async def customer_histories(
    connection: AsyncConnection, requests: Sequence[HistoryRequest]
) -> dict[HistoryRequest, list[dict[str, Any]]]:
    """Each customer's earlier interactions, newest first, not counting the item's own.

    Customers known by id only (integrators' interactions) are read in one statement for all;
    the others, by id or email, one statement each.
    """
    by_id = [one for one in requests if one.customer_id and not one.email]
    found = await _histories_by_customer_id(connection, by_id)
    for request in requests:
        if request not in found:
            found[request] = await customer_history(connection, request)
    return found


async def _histories_by_customer_id(
    connection: AsyncConnection, requests: Sequence[HistoryRequest]
) -> dict[HistoryRequest, list[dict[str, Any]]]:
    if not requests:
        return {}
    askers = Counter(one.customer_id for one in requests)
    # Each asker leaves out its own interaction: keep enough rows for all of them.
    keep = HISTORY_LIMIT + max(askers.values())
    rows = await connection.execute(
        _RECENT_BY_CUSTOMER_IDS, {"customer_ids": list(askers), "keep": keep}
    )
    newest_first: dict[str, list[Any]] = {}
    for row in rows:
        newest_first.setdefault(row[0], []).append(row[1:])
    return {
        one: [
            _history_entry(row)
            for row in newest_first.get(one.customer_id or "", [])
            if row[0] != one.interaction_id
        ][:HISTORY_LIMIT]
        for one in requests
    }


async def customer_history(
    connection: AsyncConnection, request: HistoryRequest
) -> list[dict[str, Any]]:
    """One customer's earlier interactions, newest first (by their id or their email)."""
    same: list[Any] = []
    if request.customer_id:
        same.append(Interaction.customer_id == request.customer_id)
    if request.email:
        same.append(Interaction.customer_contact["email"].as_string() == request.email)
    if not same:
        return []
    rows = await connection.execute(
        select(*_HISTORY_COLUMNS)
        .where(or_(*same), Interaction.id != request.interaction_id)
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
