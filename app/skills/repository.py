"""SQL of the skills domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.skills.models import Skill, SkillKind


async def get_skill(session: AsyncSession, skill_id: uuid.UUID) -> Skill | None:
    """The skill with this id, or None."""
    return await session.get(Skill, skill_id)


async def name_exists(session: AsyncSession, name: str) -> bool:
    """True when a skill (active or not) already has this name."""
    return await session.scalar(select(Skill.id).where(Skill.name == name)) is not None


async def skills_by_name(session: AsyncSession, names: Collection[str]) -> dict[str, Skill]:
    """The skills among `names` that exist, keyed by name."""
    if not names:
        return {}
    rows = await session.scalars(select(Skill).where(Skill.name.in_(set(names))))
    return {skill.name: skill for skill in rows}


async def list_skills(
    session: AsyncSession, params: PageParams, *, active: bool | None, kind: SkillKind | None
) -> list[Skill]:
    """One page of skills, newest first, with the extra row `next_cursor` looks for."""
    statement = select(Skill)
    if active is not None:
        statement = statement.where(Skill.active == active)
    if kind is not None:
        statement = statement.where(Skill.kind == kind)
    statement = paginate(statement, params, created_at=Skill.created_at, id_column=Skill.id)
    return list(await session.scalars(statement))
