"""The SQL the routing service runs: configuration and open work, read for recovery."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, Staff, StaffRole
from app.interactions.models import Interaction
from app.queues.models import Queue, QueueSkill
from app.routing.model import InteractionState
from app.runtime.models import AgentPresence
from app.skills.models import Skill

OPEN_STATES = (
    InteractionState.QUEUED,
    InteractionState.OFFERED,
    InteractionState.ACTIVE,
    InteractionState.WRAP_UP,
)


async def load_queues(
    session: AsyncSession, queue_id: uuid.UUID | None = None
) -> list[tuple[Queue, list[tuple[str, int]]]]:
    """Active queues (or the one asked for, active or not) with their (skill, min level)."""
    statement = select(Queue)
    statement = statement.where(Queue.id == queue_id) if queue_id else statement.where(Queue.active)
    queues = list(await session.scalars(statement))
    skills: defaultdict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    rows = await session.execute(
        select(QueueSkill.queue_id, Skill.name, QueueSkill.min_level)
        .join(Skill, Skill.id == QueueSkill.skill_id)
        .where(QueueSkill.queue_id.in_([queue.id for queue in queues]))
    )
    for owner, name, level in rows:
        skills[owner].append((name, level))
    return [(queue, skills[queue.id]) for queue in queues]


async def load_agents(
    session: AsyncSession, staff_id: uuid.UUID | None = None
) -> list[tuple[Staff, list[tuple[str, int]]]]:
    """Agents (active ones, or the one asked for) with their (skill, proficiency)."""
    statement = select(Staff).where(Staff.role == StaffRole.AGENT)
    statement = statement.where(Staff.id == staff_id) if staff_id else statement.where(Staff.active)
    agents = list(await session.scalars(statement))
    skills: defaultdict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    rows = await session.execute(
        select(AgentSkill.staff_id, Skill.name, AgentSkill.proficiency)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.staff_id.in_([agent.id for agent in agents]))
    )
    for owner, name, level in rows:
        skills[owner].append((name, level))
    return [(agent, skills[agent.id]) for agent in agents]


async def load_presence(session: AsyncSession) -> dict[uuid.UUID, AgentPresence]:
    """Each agent's last stored presence."""
    return {row.staff_id: row for row in await session.scalars(select(AgentPresence))}


async def load_open_interactions(session: AsyncSession) -> list[Interaction]:
    """Every interaction not yet ended, in the engine's original order."""
    statement = (
        select(Interaction)
        .where(Interaction.state.in_(OPEN_STATES))
        .order_by(Interaction.queue_seq, Interaction.created_at)
    )
    return list(await session.scalars(statement))


async def open_interaction_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Ids of every interaction not yet ended (cheap: the state index covers it)."""
    rows = await session.scalars(select(Interaction.id).where(Interaction.state.in_(OPEN_STATES)))
    return list(rows)


async def load_interactions(session: AsyncSession, ids: list[uuid.UUID]) -> list[Interaction]:
    """The rows of `ids`, in the engine's original order."""
    statement = (
        select(Interaction)
        .where(Interaction.id.in_(ids))
        .order_by(Interaction.queue_seq, Interaction.created_at)
    )
    return list(await session.scalars(statement))
