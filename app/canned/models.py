"""The canned response table."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, new_id


class CannedResponse(TimestampMixin, Base):
    """A prepared reply, e.g. "Hello {first_name}, I can help with your claim."."""

    __tablename__ = "canned_responses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # A language code ("es"), or None for every language.
    language: Mapped[str | None] = mapped_column(String(35), index=True)
    active: Mapped[bool] = mapped_column(default=True)
