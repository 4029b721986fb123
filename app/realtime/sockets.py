"""What the chat and desk websockets share: the hello handshake, sending, and error frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketState

from app import clock, json_codec
from app.auth.principals import Principal, Role
from app.auth.tokens import InvalidTokenError, decode_token
from app.errors import AppError
from app.realtime.bus import BusUnavailableError
from app.realtime.hub import Listener
from app.runtime.tasks import STOP_TIMEOUT_S, cancel_and_wait

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0
# Larger frames are refused: messages have their own (smaller) limit.
MAX_FRAME_BYTES = 64 * 1024

CLOSE_NORMAL = 1000
# The server cannot serve the socket right now (a dependency down or overloaded): reconnect.
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_HELLO = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_HELLO_TIMEOUT = 4408


class SocketClosedError(Exception):
    """The peer went away (or was sent away) while we were talking to it."""


class FrameSocket:
    """A websocket that speaks JSON frames; sends from several tasks never interleave."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame, or `SocketClosedError`."""
        async with self._send_lock:
            try:
                await self.websocket.send_text(json_codec.dumps_text(frame))
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                raise SocketClosedError() from exc

    async def receive(self) -> dict[str, Any] | None:
        """The next frame; None when it is not a JSON object (an error frame was sent)."""
        try:
            text = await self.websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise SocketClosedError() from exc
        if len(text) > MAX_FRAME_BYTES:
            await self.send(error_frame("frame_too_large", "Frames are limited to 64 KiB."))
            return None
        try:
            frame = json_codec.loads(text)
        except ValueError:
            await self.send(error_frame("bad_frame", "Frames are JSON objects."))
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send(error_frame("bad_frame", "Frames are JSON objects with a 'type'."))
            return None
        return frame

    async def close(self, code: int, reason: str = "") -> None:
        """Close unless already closed."""
        if self.websocket.application_state is WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason[:120])


@dataclass(frozen=True, slots=True)
class Hello:
    """An accepted socket whose hello frame carried a valid token of the expected role."""

    socket: FrameSocket
    principal: Principal
    last_seq: Any


async def accept_hello(
    websocket: WebSocket, secret_key: str, *, role: Role, wrong_role: str
) -> Hello | None:
    """Accept, read the hello and check the token's role; None when the socket was closed."""
    await websocket.accept()
    socket = FrameSocket(websocket)
    hello = await receive_hello(socket, secret_key)
    if hello is None:
        return None
    principal, last_seq = hello
    if principal.role is not role:
        await socket.close(CLOSE_FORBIDDEN, wrong_role)
        return None
    return Hello(socket, principal, last_seq)


async def receive_hello(socket: FrameSocket, secret_key: str) -> tuple[Principal, Any] | None:
    """Read the `hello` frame and check its token: (principal, last_seq), or None (closed)."""
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            text = await socket.websocket.receive_text()
    except TimeoutError:
        await socket.close(CLOSE_HELLO_TIMEOUT, "no hello frame in time")
        return None
    except (WebSocketDisconnect, RuntimeError, OSError):
        return None
    try:
        hello = json_codec.loads(text)
    except ValueError:
        hello = None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        await socket.close(CLOSE_BAD_HELLO, "the first frame must be a hello")
        return None
    token = hello.get("token")
    if not isinstance(token, str) or not token:
        await socket.close(CLOSE_UNAUTHORIZED, "the hello frame carries no token")
        return None
    try:
        principal = decode_token(secret_key, token, now=clock.now_s())
    except InvalidTokenError as exc:
        await socket.close(CLOSE_UNAUTHORIZED, f"the token is not valid: {exc}")
        return None
    return principal, hello.get("last_seq")


def error_frame(
    code: str, detail: str, *, field: str | None = None, ref: str | None = None
) -> dict[str, Any]:
    """An `error` frame: the socket stays open."""
    return {"type": "error", "code": code, "detail": detail, "field": field, "ref": ref}


def app_error_frame(exc: AppError, ref: str | None = None) -> dict[str, Any]:
    """The error frame of a problem the REST API would answer with."""
    field = exc.errors[0]["field"] if exc.errors else None
    return error_frame(exc.code, exc.detail, field=field, ref=ref)


def validation_error_frame(exc: ValidationError, ref: str | None = None) -> dict[str, Any]:
    """The error frame of an invalid client frame, naming its first bad field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return error_frame("validation_failed", f"{field}: {first['msg']}", field=field, ref=ref)


async def run_socket(
    socket: FrameSocket,
    listener: Listener,
    read: Coroutine[Any, Any, None],
    push: Coroutine[Any, Any, None],
) -> None:
    """Run a socket's reader and pusher together until one ends, then end the other.

    The other is asked to stop (the socket closed, the listener stopped) and given a moment
    to finish the frame in hand, rather than cancelled in the middle of a database call,
    which could leave a pooled connection unreturned. Only a straggler is cancelled.
    """
    reader = asyncio.create_task(read, name="socket-reader")
    pusher = asyncio.create_task(push, name="socket-pusher")
    try:
        _, pending = await asyncio.wait({reader, pusher}, return_when=asyncio.FIRST_COMPLETED)
        listener.stop()
        await socket.close(CLOSE_NORMAL)
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
        for task in (reader, pusher):
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None and not isinstance(error, SocketClosedError):
                    raise error
    finally:
        await cancel_and_wait(reader)
        await cancel_and_wait(pusher)


async def serve_guarded(socket: FrameSocket, serving: Coroutine[Any, Any, None]) -> None:
    """Run a socket's work; when the database, Redis or the routing writer fails under it,
    close with 1013 (try again later) instead of an unhandled error, so clients reconnect."""
    try:
        await serving
    except AppError as exc:
        if exc.status < 500:
            raise  # the caller's own fault: its handler closes with a code that says so
        logger.warning("socket closed, the service cannot serve it now: %s", exc.detail)
        await socket.close(CLOSE_TRY_AGAIN_LATER, "the service is busy; reconnect shortly")
    except (SQLAlchemyError, RedisError, BusUnavailableError, OSError, TimeoutError) as exc:
        logger.warning("socket closed, the service cannot serve it now: %s", exc)
        await socket.close(CLOSE_TRY_AGAIN_LATER, "the service is busy; reconnect shortly")
