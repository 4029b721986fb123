"""SQL of staff accounts and agents' skills, including the bulk load for recovery."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, Staff, StaffRole
from app.api.pagination import PageParams, paginate
from app.skills.models import Skill

SkillLevels = list[tuple[str, int]]
"""(skill name, proficiency) pairs, sorted by name."""


async def get_staff(session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
    """The staff account with this id, or None."""
    return await session.get(Staff, staff_id)


async def username_taken(session: AsyncSession, username: str) -> bool:
    """True when a staff account (active or not) already has this username."""
    return await session.scalar(select(Staff.id).where(Staff.username == username)) is not None


async def list_staff(
    session: AsyncSession,
    params: PageParams,
    *,
    role: StaffRole | None = None,
    active: bool | None = None,
    skill: str | None = None,
) -> list[Staff]:
    """One page of staff, newest first, with the extra row `next_cursor` looks for."""
    statement = select(Staff)
    if role is not None:
        statement = statement.where(Staff.role == role)
    if active is not None:
        statement = statement.where(Staff.active == active)
    if skill is not None:
        holders = (
            select(AgentSkill.staff_id)
            .join(Skill, Skill.id == AgentSkill.skill_id)
            .where(Skill.name == skill)
        )
        statement = statement.where(Staff.id.in_(holders))
    statement = paginate(statement, params, created_at=Staff.created_at, id_column=Staff.id)
    return list(await session.scalars(statement))


async def replace_agent_skills(
    session: AsyncSession, staff_id: uuid.UUID, skills: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """Make (skill id, proficiency) pairs the agent's whole set of skills."""
    await session.execute(delete(AgentSkill).where(AgentSkill.staff_id == staff_id))
    session.add_all(
        AgentSkill(staff_id=staff_id, skill_id=skill_id, proficiency=level)
        for skill_id, level in skills
    )
    await session.flush()


async def skills_of_agents(
    session: AsyncSession, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, SkillLevels]:
    """Each agent's skills by name, in one query."""
    if not staff_ids:
        return {}
    return await _skills_by_agent(session, _skill_rows().where(AgentSkill.staff_id.in_(staff_ids)))


async def load_active_agents(session: AsyncSession) -> list[tuple[Staff, SkillLevels]]:
    """Every active agent with its skills, in two queries (for recovery)."""
    active_agents = (Staff.role == StaffRole.AGENT) & Staff.active.is_(True)
    agents = list(await session.scalars(select(Staff).where(active_agents)))
    agent_ids = select(Staff.id).where(active_agents)
    statement = _skill_rows().where(AgentSkill.staff_id.in_(agent_ids))
    skills = await _skills_by_agent(session, statement)
    return [(agent, skills.get(agent.id, [])) for agent in agents]


def _skill_rows() -> Select[uuid.UUID, str, int]:
    return (
        select(AgentSkill.staff_id, Skill.name, AgentSkill.proficiency)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .order_by(Skill.name)
    )


async def _skills_by_agent(
    session: AsyncSession, statement: Select[uuid.UUID, str, int]
) -> dict[uuid.UUID, SkillLevels]:
    grouped: defaultdict[uuid.UUID, SkillLevels] = defaultdict(list)
    for staff_id, name, level in await session.execute(statement):
        grouped[staff_id].append((name, level))
    return dict(grouped)
