"""Request and response bodies of the canned responses API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.fields import not_null

# What the desk fills in when the agent inserts the reply.
PLACEHOLDERS = frozenset({"first_name", "customer_name", "agent_first_name", "queue"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

Title = Annotated[str, Field(min_length=1, max_length=100)]
Body = Annotated[str, Field(min_length=1, max_length=2000)]
LanguageCode = Annotated[
    str, Field(min_length=2, max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
]


def _known_placeholders(body: str | None) -> str | None:
    if body is None:
        return None
    unknown = sorted({name for name in _PLACEHOLDER.findall(body)} - PLACEHOLDERS)
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {allowed}")
    return body


class CannedResponseCreate(BaseModel):
    """A new prepared reply; `{first_name}` and the other placeholders are filled at use."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Greeting (Spanish)",
                    "body": "Hola {first_name}, soy {agent_first_name}. ¿En qué le puedo ayudar?",
                    "language": "es",
                }
            ]
        },
    )

    title: Title
    body: Body
    language: LanguageCode | None = None

    _placeholders = field_validator("body")(_known_placeholders)


class CannedResponseUpdate(BaseModel):
    """Fields to change; left out, they stay."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    language: LanguageCode | None = None
    active: bool | None = None

    _not_null = field_validator("title", "body", "active")(not_null)
    _placeholders = field_validator("body")(_known_placeholders)


class CannedResponseRead(BaseModel):
    """A canned response as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    language: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
