"""HTTP routes of the skills API: /api/v1/skills."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.skills import repository, service
from app.skills.models import SkillKind
from app.skills.schemas import SkillCreate, SkillRead, SkillUpdate
from app.supervisors import audit

router = APIRouter(prefix="/skills", tags=["skills"])

SkillReader = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.INTEGRATOR))
]
SkillWriter = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


@router.get("", summary="List skills", responses=problems(400, 401, 403, 422))
async def list_skills(
    session: SessionDep,
    caller: SkillReader,
    page: PageParamsDep,
    active: Annotated[bool | None, Query(description="Only active (or inactive) skills")] = None,
    kind: Annotated[SkillKind | None, Query(description="Only skills of this kind")] = None,
) -> Page[SkillRead]:
    """Skills newest first; follow `next_cursor` for the next page."""
    rows = await repository.list_skills(session, page, active=active, kind=kind)
    kept, cursor = next_cursor(rows, page)
    return Page[SkillRead](
        items=[SkillRead.model_validate(row) for row in kept], next_cursor=cursor
    )


@router.post(
    "",
    summary="Create a skill",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_skill(session: SessionDep, caller: SkillWriter, body: SkillCreate) -> SkillRead:
    """Add a skill. Its name is a lower-case slug, unique, and cannot be changed later."""
    skill = await service.create_skill(session, data=body)
    _audit(session, caller, "skill.created", skill.id, body.model_dump(mode="json"))
    return SkillRead.model_validate(skill)


@router.get("/{skill_id}", summary="Read a skill", responses=problems(401, 403, 404, 422))
async def get_skill(session: SessionDep, caller: SkillReader, skill_id: uuid.UUID) -> SkillRead:
    """One skill by id."""
    return SkillRead.model_validate(await service.get_skill(session, skill_id=skill_id))


@router.patch("/{skill_id}", summary="Update a skill", responses=problems(401, 403, 404, 422))
async def update_skill(
    session: SessionDep, caller: SkillWriter, skill_id: uuid.UUID, body: SkillUpdate
) -> SkillRead:
    """Change a skill's kind or description; fields left out stay as they are."""
    skill = await service.update_skill(session, skill_id=skill_id, data=body)
    changes = body.model_dump(mode="json", exclude_unset=True)
    _audit(session, caller, "skill.updated", skill_id, changes)
    return SkillRead.model_validate(skill)


@router.post(
    "/{skill_id}/deactivate",
    summary="Deactivate a skill",
    responses=problems(401, 403, 404, 422),
)
async def deactivate_skill(
    session: SessionDep, caller: SkillWriter, skill_id: uuid.UUID
) -> SkillRead:
    """Hide a skill from new queue requirements and agent profiles; existing ones keep it."""
    skill = await service.set_skill_active(session, skill_id=skill_id, active=False)
    _audit(session, caller, "skill.deactivated", skill_id, {"name": skill.name})
    return SkillRead.model_validate(skill)


@router.post(
    "/{skill_id}/activate", summary="Activate a skill", responses=problems(401, 403, 404, 422)
)
async def activate_skill(
    session: SessionDep, caller: SkillWriter, skill_id: uuid.UUID
) -> SkillRead:
    """Make a deactivated skill available again."""
    skill = await service.set_skill_active(session, skill_id=skill_id, active=True)
    _audit(session, caller, "skill.activated", skill_id, {"name": skill.name})
    return SkillRead.model_validate(skill)


def _audit(
    session: AsyncSession,
    caller: Principal,
    action: str,
    skill_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    audit.record(
        session, caller, action=action, target_type="skill", target_id=skill_id, details=details
    )
