"""Webhook request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.webhooks.models import DeliveryStatus, WebhookEventType

EVENT_TYPE_VALUES = [event_type.value for event_type in WebhookEventType]
MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 32
MAX_SECRET_LENGTH = 128


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host, without spaces."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL must name a host")
    if any(character.isspace() for character in url):
        raise ValueError("the URL must not contain spaces")
    return url


def check_event_types(event_types: list[str]) -> list[str]:
    """Known event types, each once, in the order given."""
    unknown = [event_type for event_type in event_types if event_type not in EVENT_TYPE_VALUES]
    if unknown:
        raise ValueError(
            f"unknown event type(s): {', '.join(unknown)}; "
            f"choose from {', '.join(EVENT_TYPE_VALUES)}"
        )
    return list(dict.fromkeys(event_types))


WebhookUrl = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URL_LENGTH, examples=["https://crm.example.org/hooks"]),
    AfterValidator(check_url),
]
# A plain list checked as a whole, so an unknown type is reported on `body.event_types`.
EventTypes = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=len(EVENT_TYPE_VALUES),
        json_schema_extra={"items": {"type": "string", "enum": EVENT_TYPE_VALUES}},
        examples=[["interaction.created", "interaction.completed"]],
    ),
    AfterValidator(check_event_types),
]
Description = Annotated[str, Field(max_length=500, examples=["CRM case sync"])]


class WebhookCreate(BaseModel):
    """A new subscription; leave `secret` out to have a strong one generated."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.org/hooks/switchboard",
                    "event_types": ["interaction.created", "interaction.completed"],
                    "description": "CRM case sync",
                }
            ]
        },
    )

    url: WebhookUrl
    event_types: EventTypes
    description: Description = ""
    secret: Annotated[
        str | None, Field(min_length=MIN_SECRET_LENGTH, max_length=MAX_SECRET_LENGTH)
    ] = None


class WebhookUpdate(BaseModel):
    """The fields to change; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"active": False}, {"event_types": ["agent.state_changed"]}]
        },
    )

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None


class WebhookRead(BaseModel):
    """A subscription as the API shows it: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    created_by: uuid.UUID | None = Field(description="The member of staff who created it")
    created_by_api_key_id: uuid.UUID | None = Field(
        description="The integrator API key that created (and owns) it"
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """A subscription with its signing secret: returned once, on creation and on rotation."""

    secret: str = Field(description="Keep it: it is never shown again")


class WebhookDeliveryRead(BaseModel):
    """One event owed to one endpoint, with the outcome of its latest attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The JSON body that is (or was) sent")
