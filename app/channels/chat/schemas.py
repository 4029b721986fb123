"""Request and response bodies of the web chat API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.routing.model import InteractionState

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
CaseNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
ClientMessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
# The length limit is a setting, checked by the service so that the error can name it.
MessageBody = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Language(BaseModel):
    """A language the pre-chat form offers."""

    code: str
    label: str


class Topic(BaseModel):
    """A topic the pre-chat form offers; it decides the queue."""

    key: str
    label: str
    labels: dict[str, str]


class ChatOptions(BaseModel):
    """What the pre-chat form needs to show its choices and limits."""

    languages: list[Language]
    topics: list[Topic]
    max_message_chars: int
    max_name_chars: int = 100


class ChatStart(BaseModel):
    """The pre-chat form: who is asking, in which language, about what, and their question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "José Ramírez",
                    "language": "es",
                    "topic": "Unemployment Insurance",
                    "email": "jose@example.org",
                    "case_number": "UI-2026-004512",
                    "message": "No he recibido mi pago de esta semana.",
                }
            ]
        },
    )

    name: Name
    language: Annotated[str, StringConstraints(min_length=2, max_length=35)]
    topic: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    email: Email | None = None
    case_number: CaseNumber | None = None
    message: MessageBody
    client_message_id: ClientMessageId | None = None
    # A voice or video call waits in line like a chat; text goes on beside it.
    channel: Literal["chat", "voice", "video"] = "chat"


class MessageSend(BaseModel):
    """A message from either side; a repeat of `client_message_id` is stored once."""

    model_config = ConfigDict(extra="forbid")

    client_message_id: ClientMessageId | None = None
    body: MessageBody


class MessageList(BaseModel):
    """Messages in order of their number."""

    messages: list[dict[str, Any]]


class ChatAgent(BaseModel):
    """The agent as the claimant sees them: the first name only."""

    first_name: str


class ChatStarted(BaseModel):
    """A chat was started: its id, the claimant's token, and the place in line."""

    interaction_id: uuid.UUID
    token: str
    token_expires_at: datetime
    state: InteractionState
    position: int | None
    estimated_wait_s: float | None
    message: dict[str, Any]


class ChatStatus(BaseModel):
    """Where a chat stands, as its claimant sees it."""

    interaction_id: uuid.UUID
    state: InteractionState
    position: int | None
    estimated_wait_s: float | None
    agent: ChatAgent | None
    last_seq: int
    ended: bool
    rating: int | None


class RatingCreate(BaseModel):
    """The claimant's satisfaction after the chat."""

    model_config = ConfigDict(extra="forbid")

    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
