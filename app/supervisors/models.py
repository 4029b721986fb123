"""The audit log and the per-queue alert rules of the supervisor dashboard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base, make_append_only, new_id


class AuditEntry(Base):
    """One action a member of staff (or an integrator) took: who, what, on what, when."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created_id", "created_at", "id"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(32))
    # A dotted verb, e.g. "agent.state_set", "interaction.whispered".
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))


make_append_only(AuditEntry)


class QueueAlertRule(Base):
    """When a queue raises an alert on the dashboard; empty limits fall back to the queue's
    own service-level target and threshold."""

    __tablename__ = "queue_alert_rules"
    __table_args__ = (
        CheckConstraint(
            "min_service_level IS NULL OR (min_service_level > 0 AND min_service_level <= 1)",
            name="min_service_level_range",
        ),
        CheckConstraint(
            "max_oldest_wait_s IS NULL OR max_oldest_wait_s > 0", name="max_oldest_wait_positive"
        ),
        CheckConstraint("max_waiting IS NULL OR max_waiting > 0", name="max_waiting_positive"),
    )

    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    min_service_level: Mapped[float | None] = mapped_column(Float)
    max_oldest_wait_s: Mapped[int | None] = mapped_column(Integer)
    max_waiting: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))
