"""The lifecycle figures and quality of an interaction's call (one row per interaction).

A call is bridged by a telephony platform or runs between two browsers. It may be set up
more than once (after a transfer, or a new call in the same chat): each set-up is a leg.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

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
    """Who ended a call: the telephony reports it; a browser's hang-up names its sender."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Call(Base):
    """A call's state, figures and quality, kept up to date by call events (telephony) and
    call frames (browsers)."""

    __tablename__ = "calls"
    __table_args__ = (CheckConstraint("hold_s >= 0", name="hold_s_not_negative"),)

    interaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    )
    # The telephony platform's own id for the call.
    call_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[CallStatus] = mapped_column(str_enum(CallStatus, "call_status"))
    # When the call first connected: the caller's wait ends here.
    connected_at: Mapped[datetime | None]
    # When the running leg connected; None between legs.
    leg_connected_at: Mapped[datetime | None]
    legs: Mapped[int] = mapped_column(Integer, default=0)
    # Connected time of the finished legs (hold included; talk = connected - hold).
    connected_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Set while on hold: when this hold began.
    held_since: Mapped[datetime | None]
    # Finished holds only; a hold still running is counted when it ends.
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_count: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[CallParty | None] = mapped_column(str_enum(CallParty, "call_party"))
    # The time of the latest event, so that events cannot go back in time.
    last_event_at: Mapped[datetime | None]
    # Each side's latest getStats summary, by party ("customer", "agent").
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
