"""Staff users (admins, supervisors, agents) and the skills agents hold."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, new_id
from app.db.types import str_enum

MIN_PROFICIENCY = 1
MAX_PROFICIENCY = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class StaffRole(StrEnum):
    """What a signed-in member of staff may do."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Staff(TimestampMixin, Base):
    """A person who signs in: agents take interactions; supervisors and admins manage."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, "staff_role"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Interactions per channel at once, e.g. {"chat": 3}; missing channels use the defaults.
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where a telephony platform rings this agent: a SIP URI, an extension or a number.
    phone_endpoint: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[datetime | None]


class AgentSkill(Base):
    """A skill an agent holds, with proficiency 1 (learning) to 10 (expert)."""

    __tablename__ = "agent_skills"
    __table_args__ = (
        CheckConstraint(
            f"proficiency BETWEEN {MIN_PROFICIENCY} AND {MAX_PROFICIENCY}",
            name="proficiency_range",
        ),
    )

    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    proficiency: Mapped[int] = mapped_column(SmallInteger)
