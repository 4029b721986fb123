"""Webhook subscriptions and the durable outbox of their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base, TimestampMixin, new_id
from app.db.types import BigIntPK, str_enum


class DeliveryStatus(StrEnum):
    """Where a delivery stands: waiting (first try or retry), delivered, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookEventType(StrEnum):
    """The events an endpoint may subscribe to."""

    INTERACTION_CREATED = "interaction.created"
    INTERACTION_QUEUED = "interaction.queued"
    INTERACTION_OFFERED = "interaction.offered"
    INTERACTION_ACCEPTED = "interaction.accepted"
    INTERACTION_TRANSFERRED = "interaction.transferred"
    INTERACTION_COMPLETED = "interaction.completed"
    INTERACTION_ABANDONED = "interaction.abandoned"
    INTERACTION_CANCELLED = "interaction.cancelled"
    AGENT_STATE_CHANGED = "agent.state_changed"


# Delivery ids are 64-bit; anything larger cannot name one (and would overflow the driver).
MAX_DELIVERY_ID = 2**63 - 1

# Sent on request to one endpoint (POST .../ping); nobody subscribes to it.
PING_EVENT_TYPE = "ping"


class WebhookSubscription(TimestampMixin, Base):
    """An integrator's endpoint and the event types it wants, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(Text, default="")
    event_types: Mapped[list[str]] = mapped_column(default=list)
    # Needed in clear to sign each delivery (HMAC); never returned after creation.
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    # The creator: a member of staff, or the integrator API key that owns the subscription.
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )


class WebhookDelivery(Base):
    """One event owed to one subscription: the outbox row, kept with its last outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_created", "subscription_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    # Counted when an attempt starts, so a delivery that crashes its sender still ends.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When pending: due time; while an attempt is in flight, the end of the sender's lease
    # (a sender that dies leaves the row due again once the lease lapses).
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    delivered_at: Mapped[datetime | None]
