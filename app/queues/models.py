"""Queues: named lines with required skills, service-level target, hours and escalation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, new_id


class Queue(TimestampMixin, Base):
    """One line of waiting interactions and the rules that route it (see DESIGN.md)."""

    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint("service_level_target > 0 AND service_level_target <= 1", name="sl_target"),
        CheckConstraint("max_size IS NULL OR max_size > 0", name="max_size_positive"),
        CheckConstraint("offer_timeout_s > 0", name="offer_timeout_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    service_level_threshold_s: Mapped[int] = mapped_column(Integer, default=60)
    service_level_target: Mapped[float] = mapped_column(Float, default=0.8)
    max_size: Mapped[int | None] = mapped_column(Integer)
    offer_timeout_s: Mapped[int] = mapped_column(Integer, default=30)
    wrap_up_s: Mapped[int] = mapped_column(Integer, default=120)
    selection_strategy: Mapped[str] = mapped_column(String(32), default="longest_idle")
    aging_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    sticky_s: Mapped[int] = mapped_column(Integer, default=0)
    busy_on_missed_offer: Mapped[bool] = mapped_column(default=True)
    # Business hours: IANA zone, weekly open intervals and holiday dates; empty = always open.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    weekly_hours: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    holidays: Mapped[list[str]] = mapped_column(default=list)
    closed_policy: Mapped[str] = mapped_column(String(16), default="refuse")
    # Ordered steps after a wait, e.g. {"after_s": 120, "add_skills": [...]}
    # or {"after_s": 300, "overflow_to": queue_id}.
    escalation_steps: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)


class QueueSkill(Base):
    """A skill a queue requires, with the lowest proficiency that may serve it."""

    __tablename__ = "queue_skills"
    __table_args__ = (CheckConstraint("min_level BETWEEN 1 AND 10", name="min_level_range"),)

    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    min_level: Mapped[int] = mapped_column(SmallInteger, default=1)
