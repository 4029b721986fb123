"""Durable state of the routing service that belongs to no other domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base
from app.db.types import str_enum
from app.routing.model import AgentState


class AgentPresence(Base):
    """An agent's last presence, so that a restart brings agents back as they were."""

    __tablename__ = "agent_presence"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[AgentState] = mapped_column(str_enum(AgentState, "agent_state"))
    reason: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
