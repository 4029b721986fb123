"""`/ws/agent`: the agent desk's live connection (docs/realtime-protocol.md).

Actions go over REST; this socket pushes. Like the claimant's socket it treats routing
events as prompts, not truth: each one makes it re-read the agent's offers and chats from
the database and send what changed, so a lost or reordered event costs nothing. Messages
are numbered per chat and gaps are filled from the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, Role
from app.channels.chat import messages
from app.interactions.models import Interaction, SenderKind
from app.queues.models import Queue
from app.realtime import grace
from app.realtime.hub import RESYNC, Frame, Listener, agent_key, interaction_key
from app.realtime.sockets import (
    FrameSocket,
    SocketClosedError,
    accept_hello,
    error_frame,
    run_socket,
    serve_guarded,
)
from app.routing.model import InteractionState
from app.state import Resources

logger = logging.getLogger(__name__)
router = APIRouter()

# A desk that sends nothing (not even its 20-second ping) for this long is closed.
SILENCE_LIMIT_S = 60.0
HISTORY_LIMIT = 5
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
        self._listener: Listener | None = None

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
        offers, chats = await self._snapshot()
        self._desk.delivered = {chat.id: known.get(chat.id, 0) for chat in chats}
        async with self._resources.read_sessions() as session:
            offer_frames = [await _offer_frame(session, row) for row in offers]
            chat_frames = [await self._chat_frame(session, row) for row in chats]
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
        self._desk.offers = {row.id for row in offers}
        self._desk.chats = {row.id: row.state for row in chats}
        self._listen_to_what_is_shown()
        for row in chats:
            await self._replay(row.id)

    async def _push_frames(self, listener: Listener) -> None:
        # Frames come in bursts (one routing batch publishes several events): the burst is
        # read as one, so the offers and chats are re-read once, knowing every event in it.
        while (batch := await listener.get_batch()) is not None:
            routing_changed, resync = False, False
            endings: dict[uuid.UUID, str] = {}
            for frame in batch:
                if frame is RESYNC:
                    resync = True
                elif isinstance(frame, dict) and frame.get("channel") == "events":
                    routing_changed = True
                    await self._on_event(frame, endings)
                elif isinstance(frame, dict):
                    await self._on_chat_frame(frame)
            if resync or routing_changed:
                await self._refresh(endings)
            if resync:
                for interaction_id in list(self._desk.chats):
                    await self._replay(interaction_id)

    async def _on_event(self, frame: Frame, endings: dict[uuid.UUID, str]) -> None:
        kind = frame.get("type", "")
        data = frame.get("data") or {}
        if kind == "agent.state_changed":
            await self._socket.send(
                {"type": "presence", "state": data.get("state"), "reason": data.get("reason")}
            )
        interaction_id = _uuid(data.get("interaction_id"))
        if interaction_id is not None and kind in OFFER_END_REASONS:
            endings[interaction_id] = OFFER_END_REASONS[kind]

    async def _on_chat_frame(self, frame: Frame) -> None:
        kind = frame.get("type", "")
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

    async def _refresh(self, endings: dict[uuid.UUID, str]) -> None:
        """Re-read the agent's offers and chats; send what appeared, changed or went."""
        offers, chats = await self._snapshot()
        desk = self._desk
        async with self._resources.read_sessions() as session:
            for row in offers:
                if row.id not in desk.offers:
                    await self._socket.send(await _offer_frame(session, row))
            held = {row.id: row for row in chats}
            for gone in desk.offers - {row.id for row in offers}:
                reason = "accepted" if gone in held else endings.get(gone, "withdrawn")
                await self._socket.send(
                    {"type": "offer_ended", "interaction_id": str(gone), "reason": reason}
                )
            desk.offers = {row.id for row in offers}
            joined: list[uuid.UUID] = []
            for row in chats:
                before = desk.chats.get(row.id)
                if before is None:
                    await self._socket.send(await self._chat_frame(session, row))
                    desk.chats[row.id] = row.state
                    desk.delivered.setdefault(row.id, 0)
                    joined.append(row.id)
                elif before is not row.state and row.state is InteractionState.WRAP_UP:
                    await self._socket.send(await _wrap_up_frame(session, row))
                desk.chats[row.id] = row.state
            for gone in set(desk.chats) - set(held):
                await self._socket.send(
                    {
                        "type": "chat_closed",
                        "interaction_id": str(gone),
                        "reason": await _closed_reason(session, gone, self._agent_id),
                    }
                )
                desk.chats.pop(gone, None)
                desk.delivered.pop(gone, None)
        # Replayed once the session above is closed: one pooled connection at a time.
        for interaction_id in joined:
            await self._replay(interaction_id)
        self._listen_to_what_is_shown()

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
        wanted = {interaction_key(str(one)) for one in (*self._desk.offers, *self._desk.chats)}
        wanted.add(agent_key(str(self._agent_id)))
        for key in wanted - listener.keys:
            listener.add(key)
        for key in listener.keys - wanted:
            listener.discard(key)

    async def _snapshot(self) -> tuple[list[Interaction], list[Interaction]]:
        async with self._resources.read_sessions() as session:
            rows = list(
                await session.scalars(
                    select(Interaction)
                    .where(
                        Interaction.agent_id == self._agent_id,
                        Interaction.state.in_((InteractionState.OFFERED, *HELD)),
                    )
                    .order_by(Interaction.offered_at)
                )
            )
        offers = [row for row in rows if row.state is InteractionState.OFFERED]
        return offers, [row for row in rows if row.state in HELD]

    async def _chat_frame(self, session: AsyncSession, row: Interaction) -> dict[str, Any]:
        queue = await session.get(Queue, row.queue_id) if row.queue_id else None
        note = await _latest_note(session, row.id)
        connected = await grace.is_connected(session, grace.CLAIMANT, str(row.id))
        frame: dict[str, Any] = {
            "type": "chat",
            "interaction_id": str(row.id),
            "channel": row.channel.value,
            "state": row.state.value,
            "queue": {"id": str(queue.id), "name": queue.name} if queue else None,
            "customer": {
                "name": row.customer_name,
                "language": row.language,
                "email": (row.customer_contact or {}).get("email"),
                "phone": (row.customer_contact or {}).get("phone"),
                "case_number": (row.attributes or {}).get("case_number"),
            },
            "topic": row.topic,
            "accepted_at": _iso(row.answered_at),
            "customer_connected": connected,
            "note": note,
            "last_seq": await messages.last_seq(session, row.id),
            "wrap_up_ends_at": _wrap_up_ends(row, queue),
            "history": await _history(session, row),
        }
        return frame

    # --- from the agent ----------------------------------------------------------------------

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
            await grace.still_connected(self._resources.sessions, grace.AGENT, str(self._agent_id))
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


async def _offer_frame(session: AsyncSession, row: Interaction) -> dict[str, Any]:
    queue = await session.get(Queue, row.queue_id) if row.queue_id else None
    expires = None
    if row.offered_at is not None and queue is not None:
        expires = row.offered_at + timedelta(seconds=queue.offer_timeout_s)
    return {
        "type": "offer",
        "interaction_id": str(row.id),
        "channel": row.channel.value,
        "queue": {"id": str(queue.id), "name": queue.name} if queue else None,
        "queued_at": _iso(row.queued_at),
        "expires_at": _iso(expires),
        "customer": {"name": row.customer_name, "language": row.language},
        "topic": row.topic,
        "history": await _history(session, row),
    }


async def _wrap_up_frame(session: AsyncSession, row: Interaction) -> dict[str, Any]:
    queue = await session.get(Queue, row.queue_id) if row.queue_id else None
    return {"type": "wrap_up", "interaction_id": str(row.id), "ends_at": _wrap_up_ends(row, queue)}


async def _history(session: AsyncSession, row: Interaction) -> list[dict[str, Any]]:
    """The customer's earlier interactions, newest first (by their id, else their email)."""
    email = (row.customer_contact or {}).get("email")
    same: list[Any] = []
    if row.customer_id:
        same.append(Interaction.customer_id == row.customer_id)
    if email:
        same.append(Interaction.customer_contact["email"].as_string() == email)
    if not same:
        return []
    earlier = await session.scalars(
        select(Interaction)
        .where(or_(*same), Interaction.id != row.id)
        .order_by(Interaction.created_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return [
        {
            "id": str(other.id),
            "channel": other.channel.value,
            "created_at": _iso(other.created_at),
            "state": other.state.value,
            "topic": other.topic,
        }
        for other in earlier
    ]


async def _latest_note(session: AsyncSession, interaction_id: uuid.UUID) -> str | None:
    found = await messages.messages_after(session, interaction_id, 0, include_internal=True)
    notes = [message.body for message in found if message.internal]
    return notes[-1] if notes else None


async def _closed_reason(
    session: AsyncSession, interaction_id: uuid.UUID, agent_id: uuid.UUID
) -> str:
    row = await session.get(Interaction, interaction_id)
    if row is None:
        return "completed"
    if row.state in CLOSED_REASONS:
        return CLOSED_REASONS[row.state]
    return "transferred" if row.agent_id != agent_id else "completed"


def _wrap_up_ends(row: Interaction, queue: Queue | None) -> str | None:
    if row.state is not InteractionState.WRAP_UP or row.wrap_up_at is None or queue is None:
        return None
    return _iso(row.wrap_up_at + timedelta(seconds=queue.wrap_up_s))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
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
