"""`/ws/agent`: the agent desk's live connection (docs/realtime-protocol.md).

It pushes; the offer decisions and the end of handling may also come back as frames
(`accept`, `reject`, `complete`, `finish_wrap_up`: the REST actions without an HTTP round
trip), the rest of the actions go over REST. Like the claimant's socket it treats routing
events as prompts, not truth: each one makes it re-read the agent's offers and chats from
the database and send what changed, so a lost or reordered event costs nothing. Messages
are numbered per chat and gaps are filled from the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from app.agents.desk_view import DeskEntry, DeskItem, iso
from app.auth.principals import Principal, Role
from app.calls.signaling import BUS_TYPE, CLIENT_TYPES, CallSignals
from app.channels.chat import messages
from app.errors import AppError
from app.interactions import service as interactions
from app.interactions.models import Interaction, SenderKind
from app.realtime import grace
from app.realtime.hub import RESYNC, Frame, Listener, agent_key, interaction_key
from app.realtime.sockets import (
    FrameSocket,
    SocketClosedError,
    accept_hello,
    app_error_frame,
    error_frame,
    run_socket,
    serve_guarded,
)
from app.routing import commands as c
from app.routing.model import AgentId, InteractionId, InteractionState
from app.runtime.wire import parse_uuid
from app.state import Resources

logger = logging.getLogger(__name__)
router = APIRouter()

# A desk that sends nothing (not even its 20-second ping) for this long is closed.
SILENCE_LIMIT_S = 60.0
CLOSE_SILENT = 4408
HELD = (InteractionState.ACTIVE, InteractionState.WRAP_UP)
# Why an offer left the desk, by the event that ended it ("withdrawn": the customer left or
# the interaction was cancelled).
OFFER_END_REASONS = {
    "interaction.accepted": "accepted",
    "interaction.offer_rejected": "rejected",
    "interaction.offer_timed_out": "timed_out",
    "interaction.offer_revoked": "revoked",
    "interaction.abandoned": "withdrawn",
    "interaction.cancelled": "withdrawn",
    "interaction.transferred": "withdrawn",
}
CLOSED_REASONS = {
    InteractionState.COMPLETED: "completed",
    InteractionState.ABANDONED: "abandoned",
    InteractionState.CANCELLED: "cancelled",
}
# Actions a desk may send as frames; those on an interaction already held check the holder.
ACTIONS = ("accept", "reject", "complete", "finish_wrap_up")
HOLDER_ACTIONS = ("complete", "finish_wrap_up")
# Why a chat left the desk, by the event that took it (else read from the database).
CHAT_END_REASONS = {
    "interaction.completed": "completed",
    "interaction.abandoned": "abandoned",
    "interaction.cancelled": "cancelled",
    "interaction.transferred": "transferred",
}


@dataclass
class _Burst:
    """What the events of one burst tell: why offers and chats ended, and which
    interactions they name (those new to the desk have their details read at once)."""

    ended_offers: dict[uuid.UUID, str] = field(default_factory=dict)
    ended_chats: dict[uuid.UUID, str] = field(default_factory=dict)
    named: set[uuid.UUID] = field(default_factory=set)


@dataclass
class _Desk:
    """What this connection has shown the agent so far."""

    offers: set[uuid.UUID] = field(default_factory=set)
    chats: dict[uuid.UUID, InteractionState] = field(default_factory=dict)
    delivered: dict[uuid.UUID, int] = field(default_factory=dict)


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    """One desk connection: hello, welcome, then offers, chats and messages as they change."""
    resources: Resources = websocket.app.state.resources
    hello = await accept_hello(
        websocket, resources.secret_key, role=Role.AGENT, wrong_role="the desk is for agents"
    )
    if hello is None:
        return
    known = _last_seq_map(hello.last_seq)
    desk = DeskConnection(resources, hello.socket, hello.principal)
    await serve_guarded(hello.socket, desk.serve(known))


class DeskConnection:
    """One agent desk socket."""

    def __init__(self, resources: Resources, socket: FrameSocket, principal: Principal) -> None:
        self._resources = resources
        self._socket = socket
        self._principal = principal
        self._agent_id = uuid.UUID(principal.subject_id)
        self._desk = _Desk()
        self._histories: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self._listener: Listener | None = None
        self._calls = CallSignals(resources, socket, principal)

    async def serve(self, known: dict[uuid.UUID, int]) -> None:
        """Run until the desk goes away."""
        hub = self._resources.hub
        listener = hub.listen(agent_key(str(self._agent_id)))
        self._listener = listener
        subject = f"agent:{self._agent_id}"
        first_here = hub.socket_opened(subject) == 1
        try:
            if first_here:
                await grace.mark_connected(
                    self._resources.sessions, grace.AGENT, str(self._agent_id)
                )
            await self._welcome(known)
            await run_socket(
                self._socket, listener, self._read_frames(), self._push_frames(listener)
            )
        except SocketClosedError:
            pass
        finally:
            listener.close()
            if hub.socket_closed(subject) == 0:
                try:
                    await grace.mark_disconnected(
                        self._resources.sessions, grace.AGENT, str(self._agent_id)
                    )
                except Exception as exc:
                    logger.warning("desk %s: could not record leaving: %s", self._agent_id, exc)

    # --- to the agent ------------------------------------------------------------------------

    async def _welcome(self, known: dict[uuid.UUID, int]) -> None:
        presence = await self._resources.routing.presence(self._agent_id)
        # Nothing is shown yet: every offer and chat is new, its details read.
        offer_entries, chat_entries, items = await self._read_desk(set())
        offers = [items[entry.id] for entry in offer_entries if entry.id in items]
        chats = [items[entry.id] for entry in chat_entries if entry.id in items]
        connected = await self._details(offers, chats)
        self._desk.delivered = {chat.id: known.get(chat.id, 0) for chat in chats}
        offer_frames = [self._offer_frame(item) for item in offers]
        chat_frames = [self._chat_frame(item, item.id in connected) for item in chats]
        await self._socket.send(
            {
                "type": "welcome",
                "agent": {"id": str(self._agent_id), "name": self._principal.name},
                "presence": {
                    "state": presence["state"] if presence else "offline",
                    "reason": presence["reason"] if presence else None,
                },
                "offers": offer_frames,
                "chats": chat_frames,
            }
        )
        self._desk.offers = {item.id for item in offers}
        self._desk.chats = {entry.id: entry.state for entry in chat_entries if entry.id in items}
        self._listen_to_what_is_shown()
        for item in chats:
            if item.last_seq > self._desk.delivered[item.id]:
                await self._replay(item.id)

    async def _push_frames(self, listener: Listener) -> None:
        # Frames come in bursts (one routing batch publishes several events): the burst is
        # read as one, so the offers and chats are re-read once, knowing every event in it.
        while (batch := await listener.get_batch()) is not None:
            routing_changed, resync = False, False
            burst = _Burst()
            for frame in batch:
                if frame is RESYNC:
                    resync = True
                elif isinstance(frame, dict) and frame.get("channel") == "events":
                    routing_changed = True
                    await self._on_event(frame, burst)
                elif isinstance(frame, dict):
                    await self._on_chat_frame(frame)
            if resync or routing_changed:
                await self._refresh(burst)
            if resync:
                for interaction_id in list(self._desk.chats):
                    await self._replay(interaction_id)

    async def _on_event(self, frame: Frame, burst: _Burst) -> None:
        kind = frame.get("type", "")
        data = frame.get("data") or {}
        if kind == "agent.state_changed":
            await self._socket.send(
                {"type": "presence", "state": data.get("state"), "reason": data.get("reason")}
            )
        interaction_id = _uuid(data.get("interaction_id"))
        if interaction_id is None:
            return
        burst.named.add(interaction_id)
        if kind in OFFER_END_REASONS:
            burst.ended_offers[interaction_id] = OFFER_END_REASONS[kind]
        if kind in CHAT_END_REASONS:
            burst.ended_chats[interaction_id] = CHAT_END_REASONS[kind]

    async def _on_chat_frame(self, frame: Frame) -> None:
        kind = frame.get("type", "")
        if kind == BUS_TYPE:
            # Addressed by its holder, not by what the desk shows (it may lag a burst behind).
            await self._calls.from_bus(frame)
            return
        interaction_id = _uuid(frame.get("interaction_id"))
        if interaction_id is None or interaction_id not in self._desk.chats:
            return
        if kind == "message":
            await self._deliver(interaction_id, frame)
        elif frame.get("from") != SenderKind.CUSTOMER.value:
            return  # the agent's own typing and read receipts
        elif kind in ("typing", "read"):
            shown: dict[str, Any] = {
                key: frame[key] for key in ("type", "typing", "seq") if key in frame
            }
            await self._socket.send(
                {**shown, "interaction_id": str(interaction_id), "from": "customer"}
            )
        elif kind in ("customer_presence", "customer_left"):
            left = kind == "customer_left"
            presence: dict[str, Any] = {
                "type": "customer_presence",
                "interaction_id": str(interaction_id),
                "connected": False if left else bool(frame.get("connected")),
            }
            await self._socket.send({**presence, "left": True} if left else presence)

    async def _refresh(self, burst: _Burst) -> None:
        """Re-read where the agent's offers and chats stand, and the details of the new ones;
        send what appeared, changed or went."""
        desk = self._desk
        offers, chats, items = await self._read_desk(burst.named)
        new_offers = [items[entry.id] for entry in offers if entry.id in items]
        joined = [items[entry.id] for entry in chats if entry.id in items]
        connected = await self._details(new_offers, joined)
        for item in new_offers:
            await self._socket.send(self._offer_frame(item))
        held = {entry.id for entry in chats}
        for gone in desk.offers - {entry.id for entry in offers}:
            reason = "accepted" if gone in held else burst.ended_offers.get(gone, "withdrawn")
            await self._socket.send(
                {"type": "offer_ended", "interaction_id": str(gone), "reason": reason}
            )
        desk.offers = {entry.id for entry in offers if entry.id in desk.offers or entry.id in items}
        for item in joined:
            await self._socket.send(self._chat_frame(item, item.id in connected))
            desk.delivered.setdefault(item.id, 0)
        for entry in chats:
            before = desk.chats.get(entry.id)
            if before is None and entry.id not in items:
                continue  # not read: shown by the next refresh
            if before not in (None, entry.state) and entry.state is InteractionState.WRAP_UP:
                await self._socket.send(
                    {
                        "type": "wrap_up",
                        "interaction_id": str(entry.id),
                        "ends_at": iso(entry.wrap_up_ends_at),
                    }
                )
            desk.chats[entry.id] = entry.state
        for gone in set(desk.chats) - held:
            await self._socket.send(
                {
                    "type": "chat_closed",
                    "interaction_id": str(gone),
                    "reason": burst.ended_chats.get(gone) or await self._closed_reason(gone),
                }
            )
            desk.chats.pop(gone, None)
            desk.delivered.pop(gone, None)
        for item in joined:
            if item.last_seq > desk.delivered[item.id]:
                await self._replay(item.id)
        # Histories are read ahead for whatever a burst names: keep those of what is shown.
        shown = desk.offers | desk.chats.keys()
        for one in [one for one in self._histories if one not in shown]:
            del self._histories[one]
        self._listen_to_what_is_shown()

    async def _read_desk(
        self, named: set[uuid.UUID]
    ) -> tuple[list[DeskEntry], list[DeskEntry], dict[uuid.UUID, DeskItem]]:
        """Where the offers and chats stand, and the details of those new to the desk.

        The details of interactions the burst named that are not chats on the desk yet (a
        new offer, an offer just accepted) are read beside the entries, in the same turn, so
        their frames wait for one read and not two; any other new one is read after."""
        desk = self._desk
        reads = self._resources.desk_reads
        unseen = [one for one in named if one not in desk.chats]
        # A new offer's history is read with its details: its frame waits for one read.
        unread = [one for one in unseen if one not in self._histories]
        seen = [one for one in unseen if one in self._histories]
        items: dict[uuid.UUID, DeskItem] = {}
        if unseen:
            # All three asked before any is awaited: made in the same turn.
            asked_entries = reads.read(self._agent_id)
            asked_with_histories = reads.items_with_histories(unread)
            asked_items = reads.items(seen)
            entries = await asked_entries
            with_histories = await asked_with_histories
            items.update(await asked_items)
            for one, (item, history) in with_histories.items():
                items[one] = item
                self._histories[one] = history
        else:
            entries = await reads.read(self._agent_id)
        offers, chats = _split(entries)
        new = [entry.id for entry in offers if entry.id not in desk.offers]
        new += [entry.id for entry in chats if entry.id not in desk.chats]
        missing = [one for one in new if one not in items]
        if missing:
            items.update(await reads.items(missing))
        return offers, chats, {one: items[one] for one in new if one in items}

    async def _deliver(self, interaction_id: uuid.UUID, frame: Frame) -> None:
        seq = frame.get("seq")
        delivered = self._desk.delivered.get(interaction_id, 0)
        if not isinstance(seq, int) or seq <= delivered:
            return
        if seq == delivered + 1:
            await self._send_message(interaction_id, frame)
            return
        await self._replay(interaction_id)

    async def _replay(self, interaction_id: uuid.UUID) -> None:
        async with self._resources.read_sessions() as session:
            missed = await messages.messages_after(
                session,
                interaction_id,
                self._desk.delivered.get(interaction_id, 0),
                include_internal=True,
            )
        for message in missed:
            await self._send_message(interaction_id, message.frame())

    async def _send_message(self, interaction_id: uuid.UUID, frame: Frame) -> None:
        await self._socket.send({key: value for key, value in frame.items() if key != "channel"})
        delivered = self._desk.delivered.get(interaction_id, 0)
        self._desk.delivered[interaction_id] = max(delivered, int(frame["seq"]))

    def _listen_to_what_is_shown(self) -> None:
        """Hear the interactions of every offer and chat on the desk (an abandoned or
        cancelled offer names no agent, only its interaction), and no others."""
        listener = self._listener
        if listener is None:
            return
        wanted = {_interaction_key(one) for one in (*self._desk.offers, *self._desk.chats)}
        wanted.add(agent_key(str(self._agent_id)))
        for key in wanted - listener.keys:
            listener.add(key)
        for key in listener.keys - wanted:
            listener.discard(key)

    async def _details(self, offers: list[DeskItem], new_chats: list[DeskItem]) -> set[uuid.UUID]:
        """Read what new frames need beyond the desk read: histories not read yet, and
        which new chats have their claimant connected. No connection when nothing is new."""
        # Read once per interaction on the desk: the offer's history serves its chat too.
        unread = [item for item in (*offers, *new_chats) if item.id not in self._histories]
        if not unread and not new_chats:
            return set()  # most bursts only move what is shown on: no tasks, no reads
        reads = self._resources.desk_reads
        # Both asked before either is awaited: they join the other desks' reads of this turn.
        asked_histories = reads.histories(unread)
        asked_connected = reads.connected([item.id for item in new_chats])
        self._histories.update(await asked_histories)
        return await asked_connected

    def _offer_frame(self, item: DeskItem) -> dict[str, Any]:
        return {
            "type": "offer",
            "interaction_id": str(item.id),
            "channel": item.channel,
            "queue": item.queue,
            "queued_at": iso(item.queued_at),
            "expires_at": iso(item.offer_expires_at),
            "customer": {"name": item.customer_name, "language": item.language},
            "topic": item.topic,
            "history": self._histories.get(item.id, []),
        }

    def _chat_frame(self, item: DeskItem, customer_connected: bool) -> dict[str, Any]:
        return {
            "type": "chat",
            "interaction_id": str(item.id),
            "channel": item.channel,
            "state": item.state.value,
            "queue": item.queue,
            "customer": {
                "name": item.customer_name,
                "language": item.language,
                "email": item.contact.get("email"),
                "phone": item.contact.get("phone"),
                "case_number": item.attributes.get("case_number"),
            },
            "topic": item.topic,
            "accepted_at": iso(item.answered_at),
            "customer_connected": customer_connected,
            "note": item.note,
            "last_seq": item.last_seq,
            "wrap_up_ends_at": iso(item.wrap_up_ends_at),
            "history": self._histories.get(item.id, []),
        }

    async def _closed_reason(self, interaction_id: uuid.UUID) -> str:
        """Why a chat left the desk, when no event of the burst said (e.g. after a resync)."""
        async with self._resources.read_engine.connect() as connection:
            found = await connection.execute(
                select(Interaction.state, Interaction.agent_id).where(
                    Interaction.id == interaction_id
                )
            )
            row = found.first()
        if row is None:
            return "completed"
        state = InteractionState(row[0])
        if state in CLOSED_REASONS:
            return CLOSED_REASONS[state]
        return "transferred" if row[1] != self._agent_id else "completed"

    # --- from the agent ----------------------------------------------------------------------

    async def _on_action(self, kind: str, frame: Frame) -> None:
        """Accept, reject, complete or finish wrap-up: the REST actions of the same names,
        one frame each way instead of an HTTP request."""
        ref = frame.get("ref") if isinstance(frame.get("ref"), str) else None
        interaction_id = _uuid(frame.get("interaction_id"))
        if interaction_id is None:
            await self._socket.send(
                error_frame(
                    "validation_failed", "interaction_id: a UUID", field="interaction_id", ref=ref
                )
            )
            return
        routing = self._resources.routing
        try:
            if kind in HOLDER_ACTIONS:
                await interactions.check_agent_holds(self._principal, routing, interaction_id)
            await routing.execute(_action_command(kind, interaction_id, self._agent_id))
        except AppError as exc:
            await self._socket.send(app_error_frame(exc, ref))
            return
        await self._socket.send(
            {"type": "ack", "action": kind, "interaction_id": str(interaction_id), "ref": ref}
        )

    async def _read_frames(self) -> None:
        while True:
            try:
                async with asyncio.timeout(SILENCE_LIMIT_S):
                    frame = await self._socket.receive()
            except TimeoutError:
                await self._socket.close(CLOSE_SILENT, "no heartbeat for 60 seconds")
                return
            if frame is None:
                continue
            await self._on_client_frame(frame)

    async def _on_client_frame(self, frame: Frame) -> None:
        kind = frame["type"]
        if kind == "ping":
            await self._socket.send({"type": "pong"})
            await grace.still_connected(self._resources, grace.AGENT, str(self._agent_id))
            return
        if kind in ACTIONS:
            await self._on_action(kind, frame)
            return
        if kind in CLIENT_TYPES:
            await self._calls.from_client(frame)
            return
        if kind not in ("typing", "read"):
            await self._socket.send(error_frame("unknown_frame", f"Unknown frame type '{kind}'."))
            return
        interaction_id = _uuid(frame.get("interaction_id"))
        if interaction_id is None or interaction_id not in self._desk.chats:
            await self._socket.send(
                error_frame(
                    "not_your_chat", "No open chat of yours with that id.", field="interaction_id"
                )
            )
            return
        signal: dict[str, Any] = {
            "type": kind,
            "interaction_id": str(interaction_id),
            "from": SenderKind.AGENT.value,
        }
        if kind == "typing":
            signal["typing"] = bool(frame.get("typing"))
        elif isinstance(frame.get("seq"), int):
            signal["seq"] = frame["seq"]
        else:
            await self._socket.send(
                error_frame("validation_failed", "seq: an integer", field="seq")
            )
            return
        await self._resources.hub.publish_chat(signal)


def _action_command(kind: str, interaction_id: uuid.UUID, agent_id: uuid.UUID) -> c.Command:
    engine_id, agent = InteractionId(str(interaction_id)), AgentId(str(agent_id))
    if kind == "accept":
        return c.Accept(engine_id, agent)
    if kind == "reject":
        return c.Reject(engine_id, agent)
    if kind == "complete":
        return c.Complete(engine_id)
    return c.FinishWrapUp(engine_id)


def _split(entries: list[DeskEntry]) -> tuple[list[DeskEntry], list[DeskEntry]]:
    """Offers, then chats (active or in wrap-up)."""
    offers = [entry for entry in entries if entry.state is InteractionState.OFFERED]
    return offers, [entry for entry in entries if entry.state in HELD]


@functools.lru_cache(maxsize=8192)
def _interaction_key(interaction_id: uuid.UUID) -> str:
    # Asked for everything shown at every refresh; formatting a UUID is slow Python.
    return interaction_key(str(interaction_id))


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return parse_uuid(str(value))
    except ValueError:
        return None


def _last_seq_map(value: Any) -> dict[uuid.UUID, int]:
    if not isinstance(value, dict):
        return {}
    known: dict[uuid.UUID, int] = {}
    for key, seq in value.items():
        interaction_id = _uuid(key)
        if interaction_id is not None and isinstance(seq, int) and seq >= 0:
            known[interaction_id] = seq
    return known
