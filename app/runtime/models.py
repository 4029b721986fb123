"""Durable state of the routing service that belongs to no other domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
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


class WriterFence(Base):
    """The fencing number of the current routing writer: one row, checked by every write.

    A writer that lost its lease still holds an older number, so its transactions find the
    row changed and are refused instead of overwriting its successor's work.
    """

    __tablename__ = "writer_fence"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fence: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str] = mapped_column(String(200))
    since: Mapped[datetime] = mapped_column(default=clock.utcnow)


class AppliedRequest(Base):
    """A request the writer applied and stored, by its id, with the result it answered.

    A request re-delivered after a fail-over is recognised here and answered again instead
    of being applied twice.
    """

    __tablename__ = "applied_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime] = mapped_column(default=clock.utcnow, index=True)
