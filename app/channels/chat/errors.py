"""Errors of the web chat API, each naming the field at fault where there is one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.errors import AppError, ConflictError


class UnknownChoiceError(AppError):
    """A language or topic the pre-chat form does not offer."""

    status = 422
    code = "unknown_choice"
    title = "Not one of the choices"

    def __init__(self, field: str, value: str, choices: Sequence[str]) -> None:
        offered = ", ".join(choices) or "none"
        super().__init__(
            f"'{value}' is not offered for {field}; choose one of: {offered}.",
            errors=[{"field": field, "message": f"choose one of: {offered}"}],
        )


class MessageTooLongError(AppError):
    """A message longer than the configured limit."""

    status = 422
    code = "message_too_long"
    title = "Message too long"

    def __init__(self, field: str, limit: int, length: int) -> None:
        super().__init__(
            f"Messages are limited to {limit} characters; this one has {length}.",
            errors=[{"field": field, "message": f"at most {limit} characters"}],
        )


class ChatStartsLimitedError(AppError):
    """Too many chats started from one address recently."""

    status = 429
    code = "too_many_chats"
    title = "Too many chats started"

    def __init__(self, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"Too many chats were started from your network; try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
        )


class ChatQueueClosedError(ConflictError):
    """The topic's queue is closed now; the body says when it is open."""

    code = "queue_closed"
    title = "Closed now"

    def __init__(self, queue_name: str, hours: dict[str, Any] | None) -> None:
        super().__init__(
            f"'{queue_name}' is closed now. {_describe(hours)}".strip(),
            extra={"hours": hours},
        )


class ChatClosedError(ConflictError):
    """The chat has ended: no more messages."""

    code = "chat_ended"
    title = "The chat has ended"

    def __init__(self) -> None:
        super().__init__("This chat has ended; start a new one to write again.")


class ChatNotEndedError(ConflictError):
    """A rating before the chat ended."""

    code = "chat_not_ended"
    title = "The chat has not ended"

    def __init__(self) -> None:
        super().__init__("A chat can be rated once it has ended.")


class NotInThisChatError(AppError):
    """A member of staff who does not hold the chat tried to write in it."""

    status = 403
    code = "not_in_this_chat"
    title = "Not your chat"

    def __init__(self) -> None:
        super().__init__("Only the agent handling this chat (or a supervisor) may write in it.")


def _describe(hours: dict[str, Any] | None) -> str:
    if not hours or not hours.get("weekly_hours"):
        return ""
    spans = ", ".join(
        f"{span['day'].capitalize()} {span['open']}-{span['close']}"
        for span in hours["weekly_hours"]
    )
    return f"Opening hours ({hours['time_zone']}): {spans}."
