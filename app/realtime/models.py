"""Who is connected by websocket, kept in the database so any process can see who left."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db.base import Base


class SocketPresence(Base):
    """The last connection state of a claimant (per chat) or of an agent's desk.

    `disconnected_at` is set when the last socket of the subject closed and cleared when one
    opens again, on whichever process; past a grace period the writer process acts on it
    (abandons a waiting chat, or re-routes a vanished agent's work) and sets `handled_at`.
    """

    __tablename__ = "socket_presence"

    # "claimant" (subject: the interaction id) or "agent" (subject: the staff id).
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connected_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(index=True)
    handled_at: Mapped[datetime | None]
