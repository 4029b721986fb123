"""HTTP routes of the agents API: /api/v1/agents (staff with role `agent` and their profile).

Every committed change is handed to the routing service so the engine routes by it at once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import repository, service
from app.agents.models import StaffRole
from app.agents.schemas import AgentCreate, AgentRead, AgentSkillsReplace, AgentUpdate
from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.errors import PermissionDeniedError
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.state import RoutingDep
from app.supervisors import audit

router = APIRouter(prefix="/agents", tags=["agents"])

AgentManager = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
ProfileReader = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))
]


@router.get("", summary="List agents", responses=problems(400, 401, 403, 422))
async def list_agents(
    session: SessionDep,
    caller: AgentManager,
    page: PageParamsDep,
    active: Annotated[bool | None, Query(description="Only active (or inactive) agents")] = None,
    skill: Annotated[
        str | None, Query(max_length=64, description="Only agents holding this skill (name)")
    ] = None,
) -> Page[AgentRead]:
    """Agents newest first, each with skills by name and capacity per channel."""
    rows = await repository.list_staff(
        session,
        page,
        role=StaffRole.AGENT,
        active=active,
        skill=skill.strip().lower() if skill else None,
    )
    kept, cursor = next_cursor(rows, page)
    loaded = await service.with_skills(session, kept)
    return Page[AgentRead](
        items=[AgentRead.from_row(staff, skills) for staff, skills in loaded], next_cursor=cursor
    )


@router.post(
    "",
    summary="Create an agent",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_agent(
    session: SessionDep, routing: RoutingDep, caller: AgentManager, body: AgentCreate
) -> AgentRead:
    """Add a staff account with role `agent`, its skills (by name) and capacity per channel."""
    staff, skills = await service.create_agent(session, data=body)
    _audit(
        session,
        caller,
        "agent.created",
        staff.id,
        body.model_dump(mode="json", exclude={"password"}),
    )
    await session.commit()
    await routing.reload_agent(staff.id)
    return AgentRead.from_row(staff, skills)


@router.get("/me", summary="Read my agent profile", responses=problems(401, 403, 404))
async def get_my_agent_profile(session: SessionDep, caller: ProfileReader) -> AgentRead:
    """The calling agent's own profile (404 for staff who are not agents)."""
    staff, skills = await service.get_agent_profile(session, agent_id=uuid.UUID(caller.subject_id))
    return AgentRead.from_row(staff, skills)


@router.get("/{agent_id}", summary="Read an agent", responses=problems(401, 403, 404, 422))
async def get_agent(session: SessionDep, caller: ProfileReader, agent_id: uuid.UUID) -> AgentRead:
    """One agent's profile. Agents may read only their own."""
    if caller.role is Role.AGENT and caller.subject_id != str(agent_id):
        raise PermissionDeniedError("Agents may read only their own profile.")
    staff, skills = await service.get_agent_profile(session, agent_id=agent_id)
    return AgentRead.from_row(staff, skills)


@router.patch("/{agent_id}", summary="Update an agent", responses=problems(401, 403, 404, 422))
async def update_agent(
    session: SessionDep,
    routing: RoutingDep,
    caller: AgentManager,
    agent_id: uuid.UUID,
    body: AgentUpdate,
) -> AgentRead:
    """Change display name, email, capacity (the map sent replaces the stored one) or phone
    endpoint."""
    staff, skills = await service.update_agent(session, agent_id=agent_id, data=body)
    changes = body.model_dump(mode="json", exclude_unset=True, exclude={"password"})
    _audit(session, caller, "agent.updated", agent_id, changes)
    await session.commit()
    await routing.reload_agent(staff.id)
    return AgentRead.from_row(staff, skills)


@router.put(
    "/{agent_id}/skills",
    summary="Replace an agent's skills",
    responses=problems(401, 403, 404, 422),
)
async def replace_agent_skills(
    session: SessionDep,
    routing: RoutingDep,
    caller: AgentManager,
    agent_id: uuid.UUID,
    body: AgentSkillsReplace,
) -> AgentRead:
    """Set the agent's whole set of skills with proficiency 1-10; skills left out are removed."""
    staff, skills = await service.replace_agent_skills(
        session, agent_id=agent_id, skills=body.skills
    )
    _audit(session, caller, "agent.skills_replaced", agent_id, body.model_dump(mode="json"))
    await session.commit()
    await routing.reload_agent(staff.id)
    return AgentRead.from_row(staff, skills)


@router.post(
    "/{agent_id}/deactivate",
    summary="Deactivate an agent",
    responses=problems(401, 403, 404, 422),
)
async def deactivate_agent(
    session: SessionDep, routing: RoutingDep, caller: AgentManager, agent_id: uuid.UUID
) -> AgentRead:
    """Stop routing to this agent; the account can no longer be used to work."""
    staff, skills = await service.set_agent_active(session, agent_id=agent_id, active=False)
    _audit(session, caller, "agent.deactivated", agent_id, {"name": staff.display_name})
    await session.commit()
    await routing.reload_agent(staff.id)
    return AgentRead.from_row(staff, skills)


@router.post(
    "/{agent_id}/activate",
    summary="Activate an agent",
    responses=problems(401, 403, 404, 422),
)
async def activate_agent(
    session: SessionDep, routing: RoutingDep, caller: AgentManager, agent_id: uuid.UUID
) -> AgentRead:
    """Let a deactivated agent sign in and take interactions again."""
    staff, skills = await service.set_agent_active(session, agent_id=agent_id, active=True)
    _audit(session, caller, "agent.activated", agent_id, {"name": staff.display_name})
    await session.commit()
    await routing.reload_agent(staff.id)
    return AgentRead.from_row(staff, skills)


def _audit(
    session: AsyncSession,
    caller: Principal,
    action: str,
    agent_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    audit.record(
        session, caller, action=action, target_type="agent", target_id=agent_id, details=details
    )
