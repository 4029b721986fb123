"""Interactions, their append-only event log, chat messages and wrap-up dispositions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base, TimestampMixin, make_append_only, new_id
from app.db.types import BigIntPK, str_enum
from app.routing.model import Channel, InteractionState


class SenderKind(StrEnum):
    """Who wrote a message; only `agent` messages count towards first response time."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"


class Interaction(Base):
    """One contact on one channel, with a timestamp for each stage it reached."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_state_queue_queued", "state", "queue_id", "queued_at"),
        Index("ix_interactions_queue_created", "queue_id", "created_at"),
        Index("ix_interactions_agent_state", "agent_id", "state"),
        Index("ix_interactions_customer_created", "customer_id", "created_at"),
        Index("ix_interactions_created_id", "created_at", "id"),
        CheckConstraint(
            "satisfaction_rating IS NULL OR satisfaction_rating BETWEEN 1 AND 5",
            name="satisfaction_range",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    state: Mapped[InteractionState] = mapped_column(str_enum(InteractionState, "interaction_state"))
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("queues.id"))
    # Set when routed by skills rather than by queue: [{"skill": "spanish", "min_level": 5}].
    required_skills: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # The engine's order keys, kept so that recovery restores the exact routing order.
    queue_seq: Mapped[int | None] = mapped_column(BigInteger)
    escalation_tier: Mapped[int] = mapped_column(SmallInteger, default=0)
    entered_queue_at: Mapped[datetime | None]
    # Set while the interaction waits for one agent: a transfer to her, or a returning
    # customer's sticky wait, which ends at `target_until`.
    target_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    target_until: Mapped[datetime | None]
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str | None] = mapped_column(String(35))
    topic: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    wrap_up_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
    wrap_up_notes: Mapped[str | None] = mapped_column(Text)
    satisfaction_rating: Mapped[int | None] = mapped_column(SmallInteger)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    """A creation request already answered: a retry with the same key gets the same answer."""

    __tablename__ = "idempotency_keys"

    # Keys are scoped to the caller, so two integrators can never collide.
    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow, index=True)


class InteractionEvent(Base):
    """One entry of an interaction's history; rows are only ever appended."""

    __tablename__ = "interaction_events"
    __table_args__ = (Index("ix_interaction_events_interaction_id_id", "interaction_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"))
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=clock.utcnow, index=True)
    actor_kind: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


make_append_only(InteractionEvent)


class Message(Base):
    """A chat message, numbered per interaction so that clients can resume without gaps."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("interaction_id", "seq"),
        UniqueConstraint("interaction_id", "client_message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_kind: Mapped[SenderKind] = mapped_column(str_enum(SenderKind, "sender_kind"))
    sender_id: Mapped[str | None] = mapped_column(String(64))
    # The name the other side saw (an agent's first name), as it was when sent.
    author: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Internal notes and whispers are never shown to the customer.
    internal: Mapped[bool] = mapped_column(default=False)
    # The sender's own id for the message, so a retried send is stored once.
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)


class Disposition(TimestampMixin, Base):
    """An outcome recorded at wrap-up, e.g. "work search reviewed"."""

    __tablename__ = "dispositions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)


class InteractionDisposition(Base):
    """A disposition recorded on an interaction at wrap-up."""

    __tablename__ = "interaction_dispositions"

    interaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    )
    disposition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dispositions.id"), primary_key=True, index=True
    )
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.utcnow)


class FollowUp(Base):
    """A callback an agent promised at wrap-up: due at a time, routed back to that agent."""

    __tablename__ = "follow_ups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    due_at: Mapped[datetime] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(Text)
    # The callback interaction made when it fell due (None until then).
    callback_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interactions.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
