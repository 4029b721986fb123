"""HTTP routes of the users API: /api/v1/users, every staff account (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.agents import repository
from app.agents.models import StaffRole
from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.state import RoutingDep
from app.users import service
from app.users.schemas import PasswordSet, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("", summary="List users", responses=problems(400, 401, 403, 422))
async def list_users(
    session: SessionDep,
    caller: Admin,
    page: PageParamsDep,
    role: Annotated[StaffRole | None, Query(description="Only users with this role")] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) users")] = None,
) -> Page[UserRead]:
    """Staff accounts newest first."""
    rows = await repository.list_staff(session, page, role=role, active=active)
    kept, cursor = next_cursor(rows, page)
    return Page[UserRead](items=[UserRead.model_validate(row) for row in kept], next_cursor=cursor)


@router.post(
    "",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_user(
    session: SessionDep, routing: RoutingDep, caller: Admin, body: UserCreate
) -> UserRead:
    """Add a staff account of any role. Use POST /agents to give an agent skills at once."""
    staff = await service.create_user(session, data=body)
    await session.commit()
    if staff.role is StaffRole.AGENT:
        await routing.reload_agent(staff.id)
    return UserRead.model_validate(staff)


@router.get("/{user_id}", summary="Read a user", responses=problems(401, 403, 404, 422))
async def get_user(session: SessionDep, caller: Admin, user_id: uuid.UUID) -> UserRead:
    """One staff account by id."""
    return UserRead.model_validate(await service.get_user(session, user_id=user_id))


@router.patch("/{user_id}", summary="Update a user", responses=problems(401, 403, 404, 409, 422))
async def update_user(
    session: SessionDep, routing: RoutingDep, caller: Admin, user_id: uuid.UUID, body: UserUpdate
) -> UserRead:
    """Change display name, email or role (409 for your own role)."""
    staff, previous_role = await service.update_user(
        session, user_id=user_id, data=body, acting_id=caller.subject_id
    )
    await session.commit()
    if StaffRole.AGENT in (previous_role, staff.role):
        await routing.reload_agent(staff.id)
    return UserRead.model_validate(staff)


@router.post(
    "/{user_id}/deactivate",
    summary="Deactivate a user",
    responses=problems(401, 403, 404, 409, 422),
)
async def deactivate_user(
    session: SessionDep, routing: RoutingDep, caller: Admin, user_id: uuid.UUID
) -> UserRead:
    """Stop an account from working (409 for your own account)."""
    staff = await service.set_user_active(
        session, user_id=user_id, active=False, acting_id=caller.subject_id
    )
    await session.commit()
    if staff.role is StaffRole.AGENT:
        await routing.reload_agent(staff.id)
    return UserRead.model_validate(staff)


@router.post(
    "/{user_id}/activate", summary="Activate a user", responses=problems(401, 403, 404, 422)
)
async def activate_user(
    session: SessionDep, routing: RoutingDep, caller: Admin, user_id: uuid.UUID
) -> UserRead:
    """Let a deactivated account work again."""
    staff = await service.set_user_active(
        session, user_id=user_id, active=True, acting_id=caller.subject_id
    )
    await session.commit()
    if staff.role is StaffRole.AGENT:
        await routing.reload_agent(staff.id)
    return UserRead.model_validate(staff)


@router.post(
    "/{user_id}/password",
    summary="Set a user's password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 422),
)
async def set_user_password(
    session: SessionDep, caller: Admin, user_id: uuid.UUID, body: PasswordSet
) -> Response:
    """Set or reset the password (at least 8 characters, not trivially guessable)."""
    await service.set_password(session, user_id=user_id, password=body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
