"""Plain ASGI middleware: a request id for every request, an access log, the last-resort 500."""

from __future__ import annotations

import json
import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import clock
from app.errors import PROBLEM_JSON, problem_body
from app.logs import current_request_id, reset_request_id, set_request_id

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("switchboard.access")
logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Give each request an id (the caller's, if well formed), echo it and log the access.

    It also turns an unhandled exception into a problem+json 500 that still carries the
    request id: Starlette's own last-resort handler sits outside every middleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = set_request_id(request_id)
        started_s = clock.monotonic_s()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        # A websocket's frames go straight out: only an HTTP response carries the id header.
        wrapped_send = send_with_id if scope["type"] == "http" else send
        try:
            await self.app(scope, receive, wrapped_send)
        except Exception:
            logger.exception("unhandled error on %s", scope.get("path", "?"))
            if scope["type"] != "http" or status:
                raise
            await _send_internal_error(scope, send_with_id)
        finally:
            if scope["type"] == "http":
                elapsed_ms = (clock.monotonic_s() - started_s) * 1000
                access_logger.info(
                    "%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_ms
                )
            reset_request_id(token)


async def _send_internal_error(scope: Scope, send: Send) -> None:
    await send_problem(
        scope,
        send,
        status=500,
        code="internal_error",
        title="Internal error",
        detail="Something went wrong on our side; quote the request id when reporting it.",
    )


async def send_problem(
    scope: Scope, send: Send, *, status: int, code: str, title: str, detail: str
) -> None:
    """Answer with a problem+json body straight from ASGI middleware."""
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=scope["path"],
        request_id=current_request_id(),
    )
    payload = json.dumps(body).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _BodyTooLargeError(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuse request bodies over a limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _content_length(scope) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLargeError:
            if started:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_problem(
            scope,
            send,
            status=413,
            code="body_too_large",
            title="Request body too large",
            detail=f"The request body is over the limit of {self.max_bytes} bytes.",
        )


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _SAFE_REQUEST_ID.match(candidate) else None
    return None
