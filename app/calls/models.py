"""The lifecycle figures of a call bridged by a telephony platform (one row per interaction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base
from app.db.types import str_enum


class CallStatus(StrEnum):
    """Where a call stands: `ringing` until answered, then connected or held, then ended."""

    RINGING = "ringing"
    CONNECTED = "connected"
    HELD = "held"
    ENDED = "ended"


class CallParty(StrEnum):
    """Who ended a call, as the telephony platform reports it."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Call(Base):
    """A call's state and figures, kept up to date by the telephony's call events."""

    __tablename__ = "calls"
    __table_args__ = (CheckConstraint("hold_s >= 0", name="hold_s_not_negative"),)

    interaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    )
    # The telephony platform's own id for the call.
    call_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[CallStatus] = mapped_column(str_enum(CallStatus, "call_status"))
    connected_at: Mapped[datetime | None]
    # Set while on hold: when this hold began.
    held_since: Mapped[datetime | None]
    # Finished holds only; a hold still running is counted when it ends.
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_count: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[CallParty | None] = mapped_column(str_enum(CallParty, "call_party"))
    # The time of the latest event, so that events cannot go back in time.
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
