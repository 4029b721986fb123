"""Sockets that went away: a grace period to come back, then the work moves on.

Each process records in `socket_presence` when the last socket of a claimant or an agent
desk closed, and clears it when one opens again (on any process). The routing writer's
process checks every second: a claimant still waiting after `chat_grace_s` without a socket
is marked abandoned; an agent desk gone for `desk_grace_s` is set offline (its open offers
go to others) and the chats it held go back to their queue.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.errors import AppError
from app.interactions.models import Interaction
from app.realtime.models import SocketPresence
from app.routing import commands as c
from app.routing.model import AgentId, AgentState, InteractionId, InteractionState, QueueId

if TYPE_CHECKING:
    from app.state import Resources

logger = logging.getLogger(__name__)

CLAIMANT = "claimant"
AGENT = "agent"
# How often the writer looks for sockets whose grace period ran out.
CHECK_EVERY_S = 1.0
WAITING = (InteractionState.QUEUED, InteractionState.OFFERED, InteractionState.TRANSFERRED)
HELD = (InteractionState.OFFERED, InteractionState.ACTIVE)


async def mark_connected(
    sessions: async_sessionmaker[AsyncSession], kind: str, subject_id: str
) -> None:
    """A socket of this subject is open (again): no grace period runs."""
    now = clock.utcnow()
    values = {
        "kind": kind,
        "subject_id": subject_id,
        "connected_at": now,
        "disconnected_at": None,
        "handled_at": None,
    }
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(SocketPresence).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "subject_id"],
            set_={"connected_at": now, "disconnected_at": None, "handled_at": None},
        )
        await session.execute(statement)
        await session.commit()


async def expect_connection(
    sessions: async_sessionmaker[AsyncSession], kind: str, subject_id: str
) -> None:
    """The subject should connect soon (a chat just started): its grace period runs until
    a socket opens, so a claimant who closed the page at once is not waited for forever."""
    now = clock.utcnow()
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(SocketPresence).values(
            kind=kind, subject_id=subject_id, connected_at=now, disconnected_at=now
        )
        await session.execute(statement.on_conflict_do_nothing())
        await session.commit()


async def mark_disconnected(
    sessions: async_sessionmaker[AsyncSession], kind: str, subject_id: str
) -> None:
    """The subject's last socket on this process closed: its grace period starts."""
    async with sessions() as session:
        await session.execute(
            update(SocketPresence)
            .where(SocketPresence.kind == kind, SocketPresence.subject_id == subject_id)
            .values(disconnected_at=clock.utcnow())
        )
        await session.commit()


_DISCONNECTION = select(SocketPresence.disconnected_at).where(
    SocketPresence.kind == bindparam("kind"), SocketPresence.subject_id == bindparam("subject_id")
)


async def still_connected(resources: Resources, kind: str, subject_id: str) -> None:
    """A heartbeat of an open socket: undo a disconnection another process recorded while
    this socket stayed open (the same claimant in two tabs on two processes)."""
    # Read first: a heartbeat almost never finds a disconnection, and on SQLite an update,
    # even of no row, waits for the one write lock the routing writer needs.
    async with resources.read_engine.connect() as connection:
        found = await connection.execute(_DISCONNECTION, {"kind": kind, "subject_id": subject_id})
        row = found.first()
    if row is None or row[0] is None:
        return
    async with resources.sessions() as session:
        await session.execute(
            update(SocketPresence)
            .where(
                SocketPresence.kind == kind,
                SocketPresence.subject_id == subject_id,
                SocketPresence.disconnected_at.is_not(None),
            )
            .values(disconnected_at=None, handled_at=None)
        )
        await session.commit()


async def is_connected(session: AsyncSession, kind: str, subject_id: str) -> bool:
    """Whether a socket of the subject is open now, as far as any process recorded."""
    found = await session.execute(
        select(SocketPresence.disconnected_at).where(
            SocketPresence.kind == kind, SocketPresence.subject_id == subject_id
        )
    )
    row = found.first()
    return row is not None and row[0] is None


class GraceKeeper:
    """Acts on sockets gone longer than their grace period (run by the writer's process)."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    async def check_once(self) -> None:
        """Abandon waiting chats and re-route vanished desks whose grace ran out."""
        settings = self._resources.settings
        now = clock.utcnow()
        for kind, grace_s in ((CLAIMANT, settings.chat_grace_s), (AGENT, settings.desk_grace_s)):
            for subject_id in await self._expired(kind, now - timedelta(seconds=grace_s)):
                try:
                    if kind == CLAIMANT:
                        await self._abandon(uuid.UUID(subject_id))
                    else:
                        await self._release_agent(uuid.UUID(subject_id))
                except (AppError, ValueError) as exc:
                    logger.info("grace period of %s %s: nothing to do (%s)", kind, subject_id, exc)
                await self._handled(kind, subject_id)

    async def _expired(self, kind: str, before: object) -> list[str]:
        async with self._resources.read_sessions() as session:
            found = await session.scalars(
                select(SocketPresence.subject_id).where(
                    SocketPresence.kind == kind,
                    SocketPresence.disconnected_at < before,
                    SocketPresence.handled_at.is_(None),
                )
            )
            return list(found)

    async def _handled(self, kind: str, subject_id: str) -> None:
        async with self._resources.sessions() as session:
            await session.execute(
                update(SocketPresence)
                .where(SocketPresence.kind == kind, SocketPresence.subject_id == subject_id)
                .values(handled_at=clock.utcnow())
            )
            await session.commit()

    async def _abandon(self, interaction_id: uuid.UUID) -> None:
        async with self._resources.read_sessions() as session:
            state = await session.scalar(
                select(Interaction.state).where(Interaction.id == interaction_id)
            )
        if state not in WAITING:
            return  # answered (the agent sees "disconnected") or already over
        logger.info("claimant of %s gone past the grace period: abandoned", interaction_id)
        await self._resources.routing.execute(c.Abandon(InteractionId(str(interaction_id))))

    async def _release_agent(self, agent_id: uuid.UUID) -> None:
        routing = self._resources.routing
        logger.info("agent desk %s gone past the grace period: offline, chats re-queued", agent_id)
        await routing.execute(c.SetAgentState(AgentId(str(agent_id)), AgentState.OFFLINE, None))
        async with self._resources.read_sessions() as session:
            held = await session.execute(
                select(Interaction.id, Interaction.queue_id).where(
                    Interaction.agent_id == agent_id, Interaction.state.in_(HELD)
                )
            )
            rows = list(held)
        for interaction_id, queue_id in rows:
            if queue_id is None:
                continue
            with contextlib.suppress(AppError):
                await routing.execute(
                    c.Transfer(
                        InteractionId(str(interaction_id)),
                        to_queue=QueueId(str(queue_id)),
                        to_agent=None,
                    )
                )
