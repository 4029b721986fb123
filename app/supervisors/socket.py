"""`/ws/supervisor`: the dashboard's live connection (docs/supervisor.md).

The server pushes the live snapshot (at most once a second; one snapshot per tick is built
for every dashboard of the process) and, for the conversations the supervisor chose to
monitor, their chat frames as they happen. Actions go over REST.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket

from app.auth.principals import Principal, Role
from app.interactions.errors import InteractionNotFoundError
from app.realtime.hub import RESYNC, Frame, Listener, interaction_key
from app.realtime.sockets import (
    CLOSE_FORBIDDEN,
    FrameSocket,
    SocketClosedError,
    error_frame,
    receive_hello,
    run_socket,
    serve_guarded,
)
from app.runtime.tasks import cancel_and_wait
from app.state import Resources
from app.supervisors import audit, service
from app.supervisors.live import Viewer

logger = logging.getLogger(__name__)
router = APIRouter()

SILENCE_LIMIT_S = 60.0
CLOSE_SILENT = 4408
# Conversations one dashboard may monitor at once.
MONITOR_LIMIT = 10
WATCHERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


@router.websocket("/ws/supervisor")
async def supervisor_socket(websocket: WebSocket) -> None:
    """One dashboard connection: hello, welcome with a snapshot, then a snapshot a second."""
    resources: Resources = websocket.app.state.resources
    await websocket.accept()
    socket = FrameSocket(websocket)
    hello = await receive_hello(socket, resources.secret_key)
    if hello is None:
        return
    principal, _ = hello
    if principal.role not in WATCHERS:
        await socket.close(CLOSE_FORBIDDEN, "the dashboard is for supervisors and admins")
        return
    connection = SupervisorConnection(resources, socket, principal)
    await serve_guarded(socket, connection.serve())


class SupervisorConnection:
    """One dashboard socket."""

    def __init__(self, resources: Resources, socket: FrameSocket, principal: Principal) -> None:
        self._resources = resources
        self._socket = socket
        self._principal = principal
        self._monitored: dict[uuid.UUID, int] = {}

    async def serve(self) -> None:
        """Run until the dashboard goes away."""
        hub = self._resources.hub
        board = self._resources.live
        listener = hub.listen()
        subject = f"supervisor:{self._principal.subject_id}"
        hub.socket_opened(subject)
        viewer = board.watch()
        try:
            snapshot = await board.current()
            await self._socket.send(
                {
                    "type": "welcome",
                    "user": {
                        "id": self._principal.subject_id,
                        "name": self._principal.name,
                        "role": self._principal.role.value,
                    },
                    "tick_s": board.tick_s,
                    "snapshot": snapshot,
                    "history": board.history(),
                }
            )
            await run_socket(
                self._socket, listener, self._read_frames(listener), self._push(viewer, listener)
            )
        except SocketClosedError:
            pass
        finally:
            board.leave(viewer)
            listener.close()
            hub.socket_closed(subject)

    # --- to the dashboard --------------------------------------------------------------------

    async def _push(self, viewer: Viewer, listener: Listener) -> None:
        snapshots = asyncio.create_task(self._push_snapshots(viewer), name="supervisor-snapshots")
        monitored = asyncio.create_task(self._push_monitored(listener), name="supervisor-monitor")
        try:
            done, _ = await asyncio.wait(
                {snapshots, monitored}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                task.result()
        finally:
            await cancel_and_wait(snapshots)
            await cancel_and_wait(monitored)

    async def _push_snapshots(self, viewer: Viewer) -> None:
        while (snapshot := await viewer.next()) is not None:
            await self._socket.send({"type": "snapshot", **snapshot})

    async def _push_monitored(self, listener: Listener) -> None:
        while (batch := await listener.get_batch()) is not None:
            for frame in batch:
                if frame is RESYNC:
                    for interaction_id in list(self._monitored):
                        await self._replay(interaction_id)
                elif isinstance(frame, dict):
                    await self._forward(frame)

    async def _forward(self, frame: Frame) -> None:
        interaction_id = _uuid(
            frame.get("interaction_id") or (frame.get("data") or {}).get("interaction_id")
        )
        if interaction_id is None or interaction_id not in self._monitored:
            return
        if frame.get("channel") == "events":
            await self._socket.send(
                {
                    "type": "monitor_event",
                    "interaction_id": str(interaction_id),
                    "event": frame.get("type"),
                    "occurred_at": frame.get("occurred_at"),
                }
            )
            return
        kind = frame.get("type")
        if kind == "message":
            seq = frame.get("seq")
            shown = self._monitored[interaction_id]
            if not isinstance(seq, int) or seq <= shown:
                return
            if seq > shown + 1:
                await self._replay(interaction_id)
                return
            await self._send_message(interaction_id, frame)
        elif kind in ("typing", "customer_presence", "customer_left"):
            shown_frame = {key: value for key, value in frame.items() if key != "channel"}
            await self._socket.send({**shown_frame, "type": f"monitor_{kind}"})

    async def _replay(self, interaction_id: uuid.UUID) -> None:
        found = await service.read_messages(
            self._resources, interaction_id, self._monitored.get(interaction_id, 0)
        )
        for message in found:
            await self._send_message(interaction_id, message.frame())

    async def _send_message(self, interaction_id: uuid.UUID, frame: Frame) -> None:
        shown = {key: value for key, value in frame.items() if key != "channel"}
        await self._socket.send({**shown, "type": "monitor_message"})
        self._monitored[interaction_id] = max(
            self._monitored.get(interaction_id, 0), int(frame["seq"])
        )

    # --- from the dashboard ------------------------------------------------------------------

    async def _read_frames(self, listener: Listener) -> None:
        while True:
            try:
                async with asyncio.timeout(SILENCE_LIMIT_S):
                    frame = await self._socket.receive()
            except TimeoutError:
                await self._socket.close(CLOSE_SILENT, "no heartbeat for 60 seconds")
                return
            if frame is None:
                continue
            await self._on_client_frame(frame, listener)

    async def _on_client_frame(self, frame: Frame, listener: Listener) -> None:
        kind = frame["type"]
        if kind == "ping":
            await self._socket.send({"type": "pong"})
            return
        if kind not in ("monitor", "unmonitor"):
            await self._socket.send(error_frame("unknown_frame", f"Unknown frame type '{kind}'."))
            return
        interaction_id = _uuid(frame.get("interaction_id"))
        if interaction_id is None:
            await self._socket.send(
                error_frame("validation_failed", "interaction_id: a UUID", field="interaction_id")
            )
            return
        if kind == "unmonitor":
            self._monitored.pop(interaction_id, None)
            listener.discard(interaction_key(str(interaction_id)))
            await self._socket.send({"type": "unmonitored", "interaction_id": str(interaction_id)})
            return
        await self._monitor(interaction_id, listener)

    async def _monitor(self, interaction_id: uuid.UUID, listener: Listener) -> None:
        if interaction_id not in self._monitored and len(self._monitored) >= MONITOR_LIMIT:
            await self._socket.send(
                error_frame(
                    "too_many_monitored",
                    f"Monitor at most {MONITOR_LIMIT} conversations at once.",
                    field="interaction_id",
                )
            )
            return
        try:
            row = await service.interaction_row(self._resources, interaction_id)
        except InteractionNotFoundError:
            await self._socket.send(
                error_frame(
                    "interaction_not_found", "No interaction with that id.", field="interaction_id"
                )
            )
            return
        # Listen first, then read: a message stored in between arrives twice, never not at all.
        listener.add(interaction_key(str(interaction_id)))
        self._monitored[interaction_id] = 0
        await audit.record_now(
            self._resources.sessions,
            self._principal,
            action="interaction.monitored",
            target_type="interaction",
            target_id=interaction_id,
            details={"via": "socket"},
        )
        await self._socket.send(
            {
                "type": "monitoring",
                "interaction_id": str(interaction_id),
                "state": row.state.value,
                "channel": row.channel.value,
                "customer": {"name": row.customer_name, "language": row.language},
                "agent_id": None if row.agent_id is None else str(row.agent_id),
                "topic": row.topic,
            }
        )
        await self._replay(interaction_id)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
