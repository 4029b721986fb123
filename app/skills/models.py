"""Skills: languages, programs (UI, RESEA, SNAP, Paid Leave) and channels agents can serve."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, new_id
from app.db.types import str_enum


class SkillKind(StrEnum):
    """What a skill describes, so pages can group them."""

    LANGUAGE = "language"
    PROGRAM = "program"
    CHANNEL = "channel"
    OTHER = "other"


class Skill(TimestampMixin, Base):
    """A named skill that queues require and agents hold with a proficiency."""

    __tablename__ = "skills"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[SkillKind] = mapped_column(
        str_enum(SkillKind, "skill_kind"), default=SkillKind.OTHER
    )
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
