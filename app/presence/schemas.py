"""Bodies of the presence API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.routing.model import AgentState

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z_ ]+$"),
]


class PresenceUpdate(BaseModel):
    """A new presence; `busy` needs a reason such as break, training or after_call_work."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"state": "available"}, {"state": "busy", "reason": "break"}]
        },
    )

    state: AgentState
    reason: Reason | None = None

    @model_validator(mode="after")
    def _reason_only_when_busy(self) -> PresenceUpdate:
        if self.state is AgentState.BUSY and self.reason is None:
            raise ValueError("a busy state needs a reason, e.g. 'break'")
        if self.state is not AgentState.BUSY and self.reason is not None:
            raise ValueError("only a busy state takes a reason")
        return self


class PresenceRead(BaseModel):
    """An agent's presence and current load as the routing engine sees it."""

    agent_id: uuid.UUID
    state: AgentState
    reason: str | None
    load: dict[str, int] = Field(description="Interactions held per channel")
    interactions: list[uuid.UUID]
    idle_since: datetime | None


class AvailableAgent(BaseModel):
    """A colleague an agent may transfer to: who, and how loaded right now."""

    agent_id: uuid.UUID
    name: str
    load: dict[str, int] = Field(description="Interactions held per channel")
