"""HTTP routes of the dispositions API: /api/v1/dispositions."""

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
from app.dispositions import repository, service
from app.dispositions.schemas import DispositionCreate, DispositionRead, DispositionUpdate
from app.supervisors import audit

router = APIRouter(prefix="/dispositions", tags=["dispositions"])

DispositionReader = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.INTEGRATOR))
]
DispositionWriter = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


@router.get("", summary="List dispositions", responses=problems(400, 401, 403, 422))
async def list_dispositions(
    session: SessionDep,
    caller: DispositionReader,
    page: PageParamsDep,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
) -> Page[DispositionRead]:
    """Wrap-up dispositions newest first; follow `next_cursor` for the next page."""
    rows = await repository.list_dispositions(session, page, active=active)
    kept, cursor = next_cursor(rows, page)
    return Page[DispositionRead](
        items=[DispositionRead.model_validate(row) for row in kept], next_cursor=cursor
    )


@router.post(
    "",
    summary="Create a disposition",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_disposition(
    session: SessionDep, caller: DispositionWriter, body: DispositionCreate
) -> DispositionRead:
    """Add a wrap-up outcome. Its code is a lower-case slug, unique, and cannot change later."""
    disposition = await service.create_disposition(session, data=body)
    _audit(session, caller, "disposition.created", disposition.id, body.model_dump())
    return DispositionRead.model_validate(disposition)


@router.get(
    "/{disposition_id}", summary="Read a disposition", responses=problems(401, 403, 404, 422)
)
async def get_disposition(
    session: SessionDep, caller: DispositionReader, disposition_id: uuid.UUID
) -> DispositionRead:
    """One disposition by id."""
    disposition = await service.get_disposition(session, disposition_id=disposition_id)
    return DispositionRead.model_validate(disposition)


@router.patch(
    "/{disposition_id}", summary="Update a disposition", responses=problems(401, 403, 404, 422)
)
async def update_disposition(
    session: SessionDep,
    caller: DispositionWriter,
    disposition_id: uuid.UUID,
    body: DispositionUpdate,
) -> DispositionRead:
    """Change a disposition's label or description; fields left out stay as they are."""
    disposition = await service.update_disposition(
        session, disposition_id=disposition_id, data=body
    )
    _audit(
        session,
        caller,
        "disposition.updated",
        disposition_id,
        body.model_dump(exclude_unset=True),
    )
    return DispositionRead.model_validate(disposition)


@router.post(
    "/{disposition_id}/deactivate",
    summary="Deactivate a disposition",
    responses=problems(401, 403, 404, 422),
)
async def deactivate_disposition(
    session: SessionDep, caller: DispositionWriter, disposition_id: uuid.UUID
) -> DispositionRead:
    """Stop offering a disposition at wrap-up; outcomes already recorded keep it."""
    disposition = await service.set_disposition_active(
        session, disposition_id=disposition_id, active=False
    )
    _audit(session, caller, "disposition.deactivated", disposition_id, {"code": disposition.code})
    return DispositionRead.model_validate(disposition)


@router.post(
    "/{disposition_id}/activate",
    summary="Activate a disposition",
    responses=problems(401, 403, 404, 422),
)
async def activate_disposition(
    session: SessionDep, caller: DispositionWriter, disposition_id: uuid.UUID
) -> DispositionRead:
    """Offer a deactivated disposition at wrap-up again."""
    disposition = await service.set_disposition_active(
        session, disposition_id=disposition_id, active=True
    )
    _audit(session, caller, "disposition.activated", disposition_id, {"code": disposition.code})
    return DispositionRead.model_validate(disposition)


def _audit(
    session: AsyncSession,
    caller: Principal,
    action: str,
    disposition_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        caller,
        action=action,
        target_type="disposition",
        target_id=disposition_id,
        details=details,
    )
