"""Request and response bodies of the interactions API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app import clock
from app.routing.model import Channel, InteractionState

MAX_ATTRIBUTES = 50
MAX_FOLLOW_UP_DAYS = 90
MAX_ATTRIBUTE_TEXT = 1000

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AttributeValue = str | int | float | bool | None


class SkillNeed(BaseModel):
    """A skill an interaction needs, by name, at a minimum level."""

    model_config = ConfigDict(extra="forbid")

    skill: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    min_level: Annotated[int, Field(ge=1, le=10)] = 1


class Customer(BaseModel):
    """Who the interaction is with; every field optional (walk-ins may be anonymous)."""

    model_config = ConfigDict(extra="forbid")

    id: ShortText | None = Field(None, description="The integrator's id for this person")
    name: ShortText | None = None
    email: (
        Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    phone: (
        Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ().-]{3,32}$")] | None
    ) = None


class InteractionCreate(BaseModel):
    """A new interaction: its channel, where it goes (a queue, or skills), and who it is with."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "chat",
                    "queue": "Seguro de Desempleo",
                    "priority": 0,
                    "customer": {"id": "claimant-88231", "name": "José Ramírez"},
                    "language": "es",
                    "topic": "weekly certification",
                    "external_id": "crm-55012",
                    "attributes": {"claim_number": "UI-2026-004512"},
                },
                {
                    "channel": "email",
                    "required_skills": [{"skill": "employer", "min_level": 5}],
                    "customer": {"email": "payroll@acme.example"},
                },
            ]
        },
    )

    channel: Channel
    queue: ShortText | None = Field(None, description="Queue id or name")
    required_skills: list[SkillNeed] | None = Field(
        None, min_length=1, max_length=10, description="Route by skills instead of a queue"
    )
    priority: Annotated[int, Field(ge=-100, le=100)] = 0
    customer: Customer = Field(default_factory=Customer)
    language: (
        Annotated[
            str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
        ]
        | None
    ) = None
    topic: ShortText | None = None
    external_id: ShortText | None = None
    preferred_agent_id: uuid.UUID | None = Field(
        None, description="Offer to this agent first when free (sticky routing)"
    )
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_destination(self) -> InteractionCreate:
        if (self.queue is None) == (self.required_skills is None):
            raise ValueError("give exactly one of 'queue' or 'required_skills'")
        return self

    @field_validator("attributes")
    @classmethod
    def _bounded_attributes(cls, value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
        for key, item in value.items():
            if not 1 <= len(key) <= 64:
                raise ValueError("attribute names have 1 to 64 characters")
            if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_TEXT:
                raise ValueError(
                    f"attribute '{key}' is longer than {MAX_ATTRIBUTE_TEXT} characters"
                )
        return value


class InteractionCreated(BaseModel):
    """The answer to a creation: where the interaction stands right after routing."""

    id: uuid.UUID
    state: InteractionState
    channel: Channel
    queue_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    position: int | None = Field(description="1-based place in line; 0 when being offered")
    estimated_wait_s: float | None = Field(description="null when no agent can take it now")
    created_at: datetime


class InteractionEventRead(BaseModel):
    """One entry of an interaction's history."""

    model_config = ConfigDict(from_attributes=True)

    type: str
    at: datetime
    actor_kind: str | None
    actor_id: str | None
    data: dict[str, Any]


class InteractionRead(BaseModel):
    """An interaction with its stage timestamps and, while waiting, its live place in line."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str | None
    channel: Channel
    state: InteractionState
    queue_id: uuid.UUID | None
    required_skills: list[dict[str, Any]]
    priority: int
    agent_id: uuid.UUID | None
    customer_id: str | None
    customer_name: str | None
    customer_contact: dict[str, Any]
    language: str | None
    topic: str | None
    attributes: dict[str, Any]
    created_at: datetime
    queued_at: datetime | None
    offered_at: datetime | None
    answered_at: datetime | None
    first_response_at: datetime | None
    wrap_up_at: datetime | None
    ended_at: datetime | None
    abandoned_at: datetime | None
    position: int | None = None
    estimated_wait_s: float | None = None


class InteractionDetail(InteractionRead):
    """An interaction with its full event history, oldest first."""

    events: list[InteractionEventRead]


class WrapUpRequest(BaseModel):
    """What the agent records when wrap-up is done: dispositions and notes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "disposition_ids": ["5b0c8f4e-2a41-4c0e-9d1e-0c6f8f7c1a11"],
                    "notes": "Reviewed work search log; RESEA appointment set for Tuesday.",
                }
            ]
        },
    )

    disposition_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = None
    follow_up_at: datetime | None = Field(
        None, description="A callback promised for this time (with a UTC offset, within 90 days)"
    )
    follow_up_note: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None
    ) = None

    @field_validator("follow_up_at")
    @classmethod
    def _future_and_zoned(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-12-02T15:00:00-08:00")
        now = clock.utcnow()
        if value <= now:
            raise ValueError("must be in the future")
        if value > now + timedelta(days=MAX_FOLLOW_UP_DAYS):
            raise ValueError(f"must be within {MAX_FOLLOW_UP_DAYS} days")
        return value


class TransferRequest(BaseModel):
    """Where to move an open interaction: a queue (id or name) or a named agent."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"queue": "Paid Leave"}]}
    )

    queue: ShortText | None = None
    agent_id: uuid.UUID | None = None
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
        | None
    ) = Field(None, description="Warm transfer: a private note the receiving agent sees first")

    @model_validator(mode="after")
    def _one_target(self) -> TransferRequest:
        if (self.queue is None) == (self.agent_id is None):
            raise ValueError("give exactly one of 'queue' or 'agent_id'")
        return self
