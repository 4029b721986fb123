"""Staff rules shared by the command line, the demo seeder and the agents and users APIs,
and the mapping from a stored agent to the routing core's config."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.agents import repository
from app.agents.errors import AgentNotFoundError, UsernameTakenError
from app.agents.models import USERNAME_PATTERN, Staff, StaffRole
from app.agents.repository import SkillLevels
from app.agents.schemas import AgentCreate, AgentSkill, AgentUpdate, stored_capacity
from app.api.fields import field_path
from app.auth.passwords import check_password_strength, hash_password
from app.routing.model import AgentConfig, agent_config
from app.skills.service import resolve_skills


class StaffError(ValueError):
    """A staff account cannot be created as asked."""


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: StaffRole,
    display_name: str | None = None,
    email: str | None = None,
    capacity: dict[str, int] | None = None,
    phone_endpoint: str | None = None,
) -> Staff:
    """Add a staff account after checking the username and password; flushes, never commits."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise StaffError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    check_password_strength(password)
    existing = await session.scalar(select(Staff.id).where(Staff.username == username))
    if existing is not None:
        raise StaffError(f"a user named '{username}' already exists")
    staff = Staff(
        username=username,
        display_name=display_name or username,
        email=email,
        role=role,
        password_hash=hash_password(password),
        capacity=capacity or {},
        phone_endpoint=phone_endpoint,
    )
    session.add(staff)
    await session.flush()
    return staff


async def ensure_username_free(session: AsyncSession, *, username: str) -> None:
    """Raise `UsernameTakenError` (409) when the username is in use."""
    if await repository.username_taken(session, username):
        raise UsernameTakenError(username)


async def get_agent(session: AsyncSession, *, agent_id: uuid.UUID) -> Staff:
    """The staff account of an agent, or `AgentNotFoundError` (also for non-agents)."""
    staff = await repository.get_staff(session, agent_id)
    if staff is None or staff.role is not StaffRole.AGENT:
        raise AgentNotFoundError()
    return staff


async def get_agent_profile(
    session: AsyncSession, *, agent_id: uuid.UUID
) -> tuple[Staff, SkillLevels]:
    """An agent and its (skill name, proficiency) pairs."""
    staff = await get_agent(session, agent_id=agent_id)
    skills = await repository.skills_of_agents(session, [staff.id])
    return staff, skills.get(staff.id, [])


async def with_skills(
    session: AsyncSession, rows: Sequence[Staff]
) -> list[tuple[Staff, SkillLevels]]:
    """Attach skills to a page of agents (one query for the page)."""
    skills = await repository.skills_of_agents(session, [staff.id for staff in rows])
    return [(staff, skills.get(staff.id, [])) for staff in rows]


async def create_agent(session: AsyncSession, *, data: AgentCreate) -> tuple[Staff, SkillLevels]:
    """Add an agent account with its skills and capacity; flushes."""
    await ensure_username_free(session, username=data.username)
    resolved = await _resolve_skills(session, data.skills)
    staff = await create_staff(
        session,
        username=data.username,
        password=data.password,
        role=StaffRole.AGENT,
        display_name=data.display_name,
        email=data.email,
        capacity={channel.value: count for channel, count in data.capacity.items()},
        phone_endpoint=data.phone_endpoint,
    )
    await repository.replace_agent_skills(session, staff.id, resolved)
    return staff, _levels(data.skills)


async def update_agent(
    session: AsyncSession, *, agent_id: uuid.UUID, data: AgentUpdate
) -> tuple[Staff, SkillLevels]:
    """Change the fields the caller sent; flushes."""
    staff = await get_agent(session, agent_id=agent_id)
    if data.display_name is not None:
        staff.display_name = data.display_name
    if "email" in data.model_fields_set:
        staff.email = data.email
    if data.capacity is not None:
        staff.capacity = {channel.value: count for channel, count in data.capacity.items()}
    if "phone_endpoint" in data.model_fields_set:
        staff.phone_endpoint = data.phone_endpoint
    await session.flush()
    return await get_agent_profile(session, agent_id=staff.id)


async def replace_agent_skills(
    session: AsyncSession, *, agent_id: uuid.UUID, skills: Sequence[AgentSkill]
) -> tuple[Staff, SkillLevels]:
    """Make `skills` the agent's whole set of skills; flushes."""
    staff = await get_agent(session, agent_id=agent_id)
    resolved = await _resolve_skills(session, skills)
    await repository.replace_agent_skills(session, staff.id, resolved)
    # Set explicitly: replacing skills alone leaves the staff row clean.
    staff.updated_at = clock.utcnow()
    await session.flush()
    return staff, _levels(skills)


async def set_agent_active(
    session: AsyncSession, *, agent_id: uuid.UUID, active: bool
) -> tuple[Staff, SkillLevels]:
    """Let an agent work again, or stop it (it goes offline and is offered nothing)."""
    staff = await get_agent(session, agent_id=agent_id)
    staff.active = active
    await session.flush()
    return await get_agent_profile(session, agent_id=staff.id)


def agent_config_from_row(staff: Staff, skills: list[tuple[str, int]]) -> AgentConfig:
    """The routing core's view of a stored agent and its (skill name, proficiency) pairs."""
    return agent_config(
        str(staff.id),
        dict(skills),
        name=staff.display_name,
        capacity=stored_capacity(staff),
    )


def _levels(items: Sequence[AgentSkill]) -> SkillLevels:
    return sorted((item.skill, item.proficiency) for item in items)


async def _resolve_skills(
    session: AsyncSession, items: Sequence[AgentSkill]
) -> list[tuple[uuid.UUID, int]]:
    references = [
        (item.skill, field_path("body", "skills", index, "skill"))
        for index, item in enumerate(items)
    ]
    skills = await resolve_skills(session, references=references)
    return [(skills[item.skill].id, item.proficiency) for item in items]
