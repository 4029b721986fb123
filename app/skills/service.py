"""Rules of the skills domain: unique names, and resolving names that other domains send."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.fields import InvalidFieldsError
from app.skills import repository
from app.skills.errors import SkillNameTakenError, SkillNotFoundError
from app.skills.models import Skill
from app.skills.schemas import SkillCreate, SkillUpdate


async def get_skill(session: AsyncSession, *, skill_id: uuid.UUID) -> Skill:
    """The skill with this id, or `SkillNotFoundError`."""
    skill = await repository.get_skill(session, skill_id)
    if skill is None:
        raise SkillNotFoundError()
    return skill


async def create_skill(session: AsyncSession, *, data: SkillCreate) -> Skill:
    """Add a skill after checking that its name is free; flushes."""
    if await repository.name_exists(session, data.name):
        raise SkillNameTakenError(data.name)
    skill = Skill(name=data.name, kind=data.kind, description=data.description)
    session.add(skill)
    await session.flush()
    return skill


async def update_skill(session: AsyncSession, *, skill_id: uuid.UUID, data: SkillUpdate) -> Skill:
    """Change the fields the caller sent; flushes."""
    skill = await get_skill(session, skill_id=skill_id)
    if data.kind is not None:
        skill.kind = data.kind
    if data.description is not None:
        skill.description = data.description
    await session.flush()
    return skill


async def set_skill_active(session: AsyncSession, *, skill_id: uuid.UUID, active: bool) -> Skill:
    """Activate or deactivate a skill; a deactivated skill cannot be newly required or held."""
    skill = await get_skill(session, skill_id=skill_id)
    skill.active = active
    await session.flush()
    return skill


async def resolve_skills(
    session: AsyncSession, *, references: Sequence[tuple[str, str]]
) -> dict[str, Skill]:
    """Look up skills named in a request: `references` are (name, field path) pairs.

    Raises `InvalidFieldsError` naming every field whose skill is unknown or deactivated.
    """
    found = await repository.skills_by_name(session, {name for name, _ in references})
    errors: list[dict[str, str]] = []
    for name, field in references:
        skill = found.get(name)
        if skill is None:
            errors.append({"field": field, "message": f"there is no skill named '{name}'"})
        elif not skill.active:
            errors.append({"field": field, "message": f"the skill '{name}' is deactivated"})
    if errors:
        raise InvalidFieldsError(errors)
    return found
