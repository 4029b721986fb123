"""`/ws/chat`: the claimant's live connection to one chat (docs/realtime-protocol.md).

The socket never trusts the bus alone for what it shows. Routing events only prompt it to
re-read the chat's row; messages carry their number, and any gap in the numbers is filled
from the database, so each message reaches the claimant once and in order, across
reconnections, processes and bus outages.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from app.auth.principals import Principal, Role
from app.calls.signaling import BUS_TYPE, CLIENT_TYPES, CallSignals
from app.channels.chat import messages, service
from app.channels.chat.schemas import MessageSend
from app.errors import AppError
from app.interactions.errors import InteractionNotFoundError
from app.interactions.models import Interaction, SenderKind
from app.realtime import grace
from app.realtime.hub import RESYNC, STOPPED, Frame, Listener, interaction_key
from app.realtime.sockets import (
    CLOSE_NOT_FOUND,
    FrameSocket,
    SocketClosedError,
    accept_hello,
    app_error_frame,
    error_frame,
    run_socket,
    serve_guarded,
    validation_error_frame,
)
from app.routing import commands as c
from app.routing.model import InteractionId, InteractionState
from app.state import Resources

logger = logging.getLogger(__name__)
router = APIRouter()

ENDED_REASONS = {
    InteractionState.WRAP_UP: "completed",
    InteractionState.COMPLETED: "completed",
    InteractionState.ABANDONED: "abandoned",
    InteractionState.CANCELLED: "cancelled",
}


@dataclass
class _Shown:
    """What this connection has shown the claimant so far."""

    delivered_seq: int = 0
    phase: str = "waiting"  # waiting, talking, ended
    agent: str | None = None
    place: tuple[int | None, float | None] | None = None


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    """One claimant connection: hello, welcome, replay, then live frames both ways."""
    resources: Resources = websocket.app.state.resources
    hello = await accept_hello(
        websocket,
        resources.secret_key,
        role=Role.CLAIMANT,
        wrong_role="this socket is for claimants; agents use /ws/agent",
    )
    if hello is None:
        return
    socket, principal, last_seq = hello.socket, hello.principal, hello.last_seq
    assert principal.interaction_id is not None  # every claimant token names its chat
    interaction_id = uuid.UUID(principal.interaction_id)
    connection = ClaimantConnection(resources, socket, principal, interaction_id)
    try:
        start_after = last_seq if isinstance(last_seq, int) and last_seq >= 0 else 0
        await serve_guarded(socket, connection.serve(start_after))
    except InteractionNotFoundError:
        await socket.close(CLOSE_NOT_FOUND, "no such chat")


class ClaimantConnection:
    """One claimant socket of one chat."""

    def __init__(
        self,
        resources: Resources,
        socket: FrameSocket,
        principal: Principal,
        interaction_id: uuid.UUID,
    ) -> None:
        self._resources = resources
        self._socket = socket
        self._principal = principal
        self._id = interaction_id
        self._shown = _Shown()
        self._ended_by_me = False
        self._calls = CallSignals(resources, socket, principal)

    async def serve(self, last_seq: int) -> None:
        """Run until the claimant goes away."""
        hub = self._resources.hub
        listener = hub.listen(interaction_key(str(self._id)))
        subject = f"claimant:{self._id}"
        first_here = hub.socket_opened(subject) == 1
        try:
            await self._greet(last_seq)
            if first_here:
                await grace.mark_connected(self._resources.sessions, grace.CLAIMANT, str(self._id))
                await self._signal({"type": "customer_presence", "connected": True})
            await run_socket(
                self._socket, listener, self._read_frames(), self._push_frames(listener)
            )
        except SocketClosedError:
            pass
        finally:
            listener.close()
            self._resources.places.unwatch(self._id, listener)
            if hub.socket_closed(subject) == 0:
                await self._gone()

    async def _greet(self, last_seq: int) -> None:
        # Its own frame: the interaction row read here is not kept for the socket's life.
        row = await self._read_row()
        self._shown.delivered_seq = last_seq
        await self._welcome(row)
        await self._replay()
        await self._sync(row)

    async def _gone(self) -> None:
        try:
            await grace.mark_disconnected(self._resources.sessions, grace.CLAIMANT, str(self._id))
            await self._signal({"type": "customer_presence", "connected": False})
        except Exception as exc:
            logger.warning("chat %s: could not record the claimant leaving: %s", self._id, exc)

    # --- to the claimant ---------------------------------------------------------------------

    async def _push_frames(self, listener: Listener) -> None:
        if self._shown.phase == "waiting":
            self._resources.places.watch(self._id, listener)
        while True:
            frame = await listener.get()
            if frame is STOPPED:
                return
            if frame is RESYNC:
                await self._replay()
                await self._sync(await self._read_row())
                continue
            assert isinstance(frame, dict)
            await self._on_frame(frame, listener)

    async def _on_frame(self, frame: Frame, listener: Listener) -> None:
        kind = frame.get("type", "")
        if frame.get("channel") == "events":
            if kind == "interaction.transferred":
                await self._socket.send({"type": "transferred"})
            await self._sync(await self._read_row())
            if self._shown.phase != "waiting":
                self._resources.places.unwatch(self._id, listener)
            else:
                self._resources.places.watch(self._id, listener)
        elif kind == "message":
            await self._deliver(frame)
        elif kind in ("typing", "read") and frame.get("from") != SenderKind.CUSTOMER.value:
            frame = {key: frame[key] for key in ("type", "typing", "seq") if key in frame}
            await self._socket.send({**frame, "from": "agent"})
        elif kind == "place":
            await self._show_place(frame.get("position"), frame.get("estimated_wait_s"))
        elif kind == BUS_TYPE:
            await self._calls.from_bus(frame)

    async def _welcome(self, row: Interaction) -> None:
        async with self._resources.read_sessions() as session:
            agent = await service.agent_first_name(session, row.agent_id)
            seq = await messages.last_seq(session, self._id)
        talking = row.state in (InteractionState.ACTIVE, InteractionState.WRAP_UP)
        await self._socket.send(
            {
                "type": "welcome",
                "interaction_id": str(self._id),
                "state": row.state.value,
                "last_seq": seq,
                "agent": {"first_name": agent} if agent and talking else None,
                "ended": row.state in ENDED_REASONS,
            }
        )
        # The welcome already says who is in the chat and whether it ended: later frames
        # report only changes from here.
        self._shown.phase = _phase(row.state)
        self._shown.agent = agent if talking else None

    async def _deliver(self, frame: Frame) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int) or seq <= self._shown.delivered_seq:
            return  # already shown (a replay raced the live frame)
        if seq == self._shown.delivered_seq + 1 and not frame.get("internal"):
            await self._send_message(frame)
            return
        # A gap (a frame lost or out of order, or an internal note): the database has it all.
        await self._replay(up_to_seq=seq)

    async def _replay(self, up_to_seq: int | None = None) -> None:
        async with self._resources.read_sessions() as session:
            missed = await messages.messages_after(
                session, self._id, self._shown.delivered_seq, up_to_seq=up_to_seq
            )
        for message in missed:
            await self._send_message(message.frame())
        if up_to_seq is not None:
            # Internal notes in between are never shown but count as seen.
            self._shown.delivered_seq = max(self._shown.delivered_seq, up_to_seq)

    async def _send_message(self, frame: Frame) -> None:
        shown = {key: value for key, value in frame.items() if key not in ("channel", "internal")}
        await self._socket.send(shown)
        self._shown.delivered_seq = max(self._shown.delivered_seq, int(frame["seq"]))

    async def _sync(self, row: Interaction) -> None:
        """Tell the claimant what changed since the last look at the chat's row."""
        shown = self._shown
        phase = _phase(row.state)
        if phase == "talking":
            async with self._resources.read_sessions() as session:
                agent = await service.agent_first_name(session, row.agent_id)
            if shown.phase != "talking" or agent != shown.agent:
                await self._socket.send({"type": "agent_joined", "agent": {"first_name": agent}})
            shown.agent = agent
        elif phase == "ended" and shown.phase != "ended":
            by = "customer" if self._ended_by_me else _ended_by(row.state)
            reason = ENDED_REASONS.get(row.state, "completed")
            await self._socket.send({"type": "ended", "by": by, "reason": reason})
        previous, shown.phase = shown.phase, phase
        if phase != "waiting":
            shown.place = None
        elif previous != "waiting" or shown.place is None:
            await self._send_place()

    async def _send_place(self) -> None:
        places = await self._resources.routing.places([self._id])
        position, wait_s = places.get(self._id, (None, None))
        await self._show_place(position, None if wait_s is None else round(wait_s, 1))

    async def _show_place(self, position: Any, wait_s: Any) -> None:
        if self._shown.phase != "waiting" or position is None:
            return
        if self._shown.place == (position, wait_s):
            return
        self._shown.place = (position, wait_s)
        await self._socket.send({"type": "queue", "position": position, "estimated_wait_s": wait_s})

    # --- from the claimant -------------------------------------------------------------------

    async def _read_frames(self) -> None:
        while True:
            frame = await self._socket.receive()
            if frame is None:
                continue
            try:
                await self._on_client_frame(frame)
            except AppError as exc:
                await self._socket.send(app_error_frame(exc, _ref(frame)))
            except ValidationError as exc:
                await self._socket.send(validation_error_frame(exc, _ref(frame)))

    async def _on_client_frame(self, frame: Frame) -> None:
        kind = frame["type"]
        if kind == "message":
            body = MessageSend.model_validate(
                {key: frame.get(key) for key in ("client_message_id", "body")}
            )
            stored = await service.send_message(self._resources, self._principal, self._id, body)
            await self._socket.send(
                {"type": "ack", "client_message_id": stored.client_message_id, "seq": stored.seq}
            )
            # The claimant's own message is shown from the ack's frame at once.
            await self._deliver(stored.frame())
        elif kind == "typing":
            await self._signal({"type": "typing", "typing": bool(frame.get("typing"))})
        elif kind == "read":
            seq = frame.get("seq")
            if isinstance(seq, int) and seq >= 0:
                await self._signal({"type": "read", "seq": seq})
        elif kind == "end":
            await self._end()
        elif kind == "ping":
            await self._socket.send({"type": "pong"})
            await grace.still_connected(self._resources, grace.CLAIMANT, str(self._id))
        elif kind in CLIENT_TYPES:
            await self._calls.from_client(frame)
        else:
            await self._socket.send(error_frame("unknown_frame", f"Unknown frame type '{kind}'."))

    async def _end(self) -> None:
        row = await self._read_row()
        routing = self._resources.routing
        self._ended_by_me = True
        if row.state in service.WAITING_STATES:
            await routing.execute(c.Abandon(InteractionId(str(self._id))))
        elif row.state is InteractionState.ACTIVE:
            await self._signal({"type": "customer_left"})
            await routing.execute(c.Complete(InteractionId(str(self._id))))
        await self._sync(await self._read_row())

    async def _signal(self, frame: Frame) -> None:
        await self._resources.hub.publish_chat(
            {**frame, "interaction_id": str(self._id), "from": SenderKind.CUSTOMER.value}
        )

    async def _read_row(self) -> Interaction:
        async with self._resources.read_sessions() as session:
            row = await session.get(Interaction, self._id)
        if row is None:
            raise InteractionNotFoundError()
        return row


def _phase(state: InteractionState) -> str:
    if state in ENDED_REASONS:
        return "ended"
    return "talking" if state is InteractionState.ACTIVE else "waiting"


def _ended_by(state: InteractionState) -> str:
    if state is InteractionState.ABANDONED:
        return "customer"
    if state is InteractionState.CANCELLED:
        return "system"
    return "agent"


def _ref(frame: Frame) -> str | None:
    ref = frame.get("client_message_id") or frame.get("ref")
    return ref if isinstance(ref, str) else None
