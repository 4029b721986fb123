"""HTTP routes of the queues API: /api/v1/queues.

Every committed change is handed to the routing service so the engine routes by it at once.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.queues import repository, service
from app.queues.schemas import QueueCreate, QueueRead, QueueUpdate
from app.state import RoutingDep

router = APIRouter(prefix="/queues", tags=["queues"])

QueueReader = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.INTEGRATOR))
]
QueueWriter = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


@router.get("", summary="List queues", responses=problems(400, 401, 403, 422))
async def list_queues(
    session: SessionDep,
    caller: QueueReader,
    page: PageParamsDep,
    active: Annotated[bool | None, Query(description="Only active (or inactive) queues")] = None,
) -> Page[QueueRead]:
    """Queues newest first, each with its required skills by name."""
    rows = await repository.list_queues(session, page, active=active)
    kept, cursor = next_cursor(rows, page)
    loaded = await service.list_queues_with_skills(session, kept)
    return Page[QueueRead](
        items=[QueueRead.from_row(queue, skills) for queue, skills in loaded], next_cursor=cursor
    )


@router.post(
    "",
    summary="Create a queue",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_queue(
    session: SessionDep, routing: RoutingDep, caller: QueueWriter, body: QueueCreate
) -> QueueRead:
    """Add a queue. Skills are named (`spanish`); overflow targets by queue id or name."""
    queue, skills = await service.create_queue(session, data=body)
    await session.commit()
    await routing.reload_queue(queue.id)
    return QueueRead.from_row(queue, skills)


@router.get("/{queue_id}", summary="Read a queue", responses=problems(401, 403, 404, 422))
async def get_queue(session: SessionDep, caller: QueueReader, queue_id: uuid.UUID) -> QueueRead:
    """One queue by id, with its required skills by name."""
    queue, skills = await service.get_queue_with_skills(session, queue_id=queue_id)
    return QueueRead.from_row(queue, skills)


@router.patch("/{queue_id}", summary="Update a queue", responses=problems(401, 403, 404, 409, 422))
async def update_queue(
    session: SessionDep,
    routing: RoutingDep,
    caller: QueueWriter,
    queue_id: uuid.UUID,
    body: QueueUpdate,
) -> QueueRead:
    """Change the fields sent; `required_skills`, `weekly_hours`, `holidays` and
    `escalation_steps` replace the stored lists. Waiting interactions follow the new rules."""
    queue, skills = await service.update_queue(session, queue_id=queue_id, data=body)
    await session.commit()
    await routing.reload_queue(queue.id)
    return QueueRead.from_row(queue, skills)


@router.post(
    "/{queue_id}/deactivate",
    summary="Deactivate a queue",
    responses=problems(401, 403, 404, 422),
)
async def deactivate_queue(
    session: SessionDep, routing: RoutingDep, caller: QueueWriter, queue_id: uuid.UUID
) -> QueueRead:
    """Stop taking new interactions into this queue."""
    queue, skills = await service.set_queue_active(session, queue_id=queue_id, active=False)
    await session.commit()
    await routing.reload_queue(queue.id)
    return QueueRead.from_row(queue, skills)


@router.post(
    "/{queue_id}/activate", summary="Activate a queue", responses=problems(401, 403, 404, 422)
)
async def activate_queue(
    session: SessionDep, routing: RoutingDep, caller: QueueWriter, queue_id: uuid.UUID
) -> QueueRead:
    """Take interactions into a deactivated queue again."""
    queue, skills = await service.set_queue_active(session, queue_id=queue_id, active=True)
    await session.commit()
    await routing.reload_queue(queue.id)
    return QueueRead.from_row(queue, skills)
