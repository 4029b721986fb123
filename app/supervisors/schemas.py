"""Request and response bodies of the supervisor API and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.presence.schemas import PresenceUpdate


class AuditEntryRead(BaseModel):
    """One recorded action: who did what to which target, when, and with what details."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    request_id: str | None


class AgentStateSet(PresenceUpdate):
    """The state a supervisor puts an agent in, e.g. offline for a desk left signed in."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"state": "offline"}, {"state": "busy", "reason": "meeting"}]
        },
    )


class MoveRequest(BaseModel):
    """Where to move an open interaction: another queue (id or name) or a named agent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"queue": "Seguro de Desempleo"},
                {"agent_id": "5b0e1a3c-2f0c-4d43-9a7f-6f1f7f6d1e10", "note": "Spanish speaker"},
            ]
        },
    )

    queue: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    agent_id: uuid.UUID | None = None
    note: Annotated[str | None, Field(min_length=1, max_length=2000)] = None

    @model_validator(mode="after")
    def _one_target(self) -> MoveRequest:
        if (self.queue is None) == (self.agent_id is None):
            raise ValueError("give exactly one of queue or agent_id")
        return self


class PrioritySet(BaseModel):
    """A waiting interaction's own priority (-100 to 100, higher first), as on creation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"priority": 5}]})

    priority: Annotated[int, Field(ge=-100, le=100)]


class WhisperCreate(BaseModel):
    """A note to the agent handling the chat; the customer never sees it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Offer the RESEA appointment before closing."}]},
    )

    body: Annotated[str, Field(min_length=1, max_length=2000)]


class AlertRuleUpdate(BaseModel):
    """A queue's alert limits; a limit left null falls back to the queue's own settings
    (service-level target, service-level threshold) or, for `max_waiting`, to none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"min_service_level": 0.75, "max_oldest_wait_s": 120, "max_waiting": 10}]
        },
    )

    min_service_level: Annotated[float | None, Field(gt=0, le=1)] = None
    max_oldest_wait_s: Annotated[int | None, Field(gt=0, le=86_400)] = None
    max_waiting: Annotated[int | None, Field(gt=0, le=100_000)] = None


class AlertRuleRead(BaseModel):
    """A queue's alert limits: what is set, and what applies (after the fallbacks)."""

    queue_id: uuid.UUID
    queue: str
    min_service_level: float | None
    max_oldest_wait_s: int | None
    max_waiting: int | None
    applied: dict[str, float | int | None] = Field(
        description="The limits in force: the rule's, else the queue's target and threshold"
    )
    updated_at: datetime | None
    updated_by: str | None
