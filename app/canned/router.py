"""HTTP routes of canned responses: /api/v1/canned-responses (supervisors manage them)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.canned.models import CannedResponse
from app.canned.schemas import CannedResponseCreate, CannedResponseRead, CannedResponseUpdate
from app.db.dependencies import SessionDep
from app.errors import NotFoundError
from app.supervisors import audit

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]
Writer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
# A centre keeps tens of these, not thousands: one unpaginated list.
LIST_LIMIT = 500


@router.get("", summary="List canned responses", responses=problems(401, 403, 422))
async def list_canned_responses(
    session: SessionDep,
    caller: Reader,
    language: Annotated[
        str | None, Query(description="Only this language and all-language ones")
    ] = None,
    include_inactive: bool = False,
) -> list[CannedResponseRead]:
    """Canned responses by title; agents see the active ones."""
    statement = select(CannedResponse).order_by(CannedResponse.title).limit(LIST_LIMIT)
    if language is not None:
        statement = statement.where(
            or_(CannedResponse.language == language, CannedResponse.language.is_(None))
        )
    if not include_inactive or caller.role is Role.AGENT:
        statement = statement.where(CannedResponse.active.is_(True))
    rows = await session.scalars(statement)
    return [CannedResponseRead.model_validate(row) for row in rows]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a canned response",
    responses=problems(401, 403, 422),
)
async def create_canned_response(
    session: SessionDep, caller: Writer, body: CannedResponseCreate
) -> CannedResponseRead:
    """Add a prepared reply (placeholders: {first_name}, {customer_name},
    {agent_first_name}, {queue})."""
    row = CannedResponse(title=body.title, body=body.body, language=body.language)
    session.add(row)
    await session.flush()
    _audit(session, caller, "canned_response.created", row, body.model_dump())
    return CannedResponseRead.model_validate(row)


@router.patch(
    "/{response_id}",
    summary="Update a canned response",
    responses=problems(401, 403, 404, 422),
)
async def update_canned_response(
    session: SessionDep, caller: Writer, response_id: uuid.UUID, body: CannedResponseUpdate
) -> CannedResponseRead:
    """Change the fields sent; `active: false` hides it from agents."""
    row = await _get(session, response_id)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    _audit(session, caller, "canned_response.updated", row, changes)
    return CannedResponseRead.model_validate(row)


@router.delete(
    "/{response_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a canned response",
    responses=problems(401, 403, 404, 422),
)
async def delete_canned_response(
    session: SessionDep, caller: Writer, response_id: uuid.UUID
) -> Response:
    """Remove it for good (messages already sent keep their text)."""
    row = await _get(session, response_id)
    _audit(session, caller, "canned_response.deleted", row, {"title": row.title})
    await session.delete(row)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _get(session: AsyncSession, response_id: uuid.UUID) -> CannedResponse:
    row = await session.get(CannedResponse, response_id)
    if row is None:
        raise NotFoundError("No canned response has this id.", code="canned_response_not_found")
    return row


def _audit(
    session: AsyncSession,
    caller: Principal,
    action: str,
    row: CannedResponse,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        caller,
        action=action,
        target_type="canned_response",
        target_id=row.id,
        details=details,
    )
