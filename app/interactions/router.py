"""HTTP routes of interactions: create, read, list, and the lifecycle actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.channels.chat import service as chat_service
from app.db.dependencies import SessionDep
from app.errors import NotFoundError
from app.interactions import repository, service
from app.interactions.errors import (
    InteractionNotFoundError,
    NaiveTimeError,
    QueueNotFoundError,
)
from app.interactions.schemas import (
    InteractionCreate,
    InteractionCreated,
    InteractionDetail,
    InteractionEventRead,
    InteractionRead,
    TransferRequest,
    WrapUpRequest,
)
from app.routing import commands as c
from app.routing.model import AgentId, Channel, InteractionId, InteractionState, QueueId
from app.state import ResourcesDep, RoutingDep

router = APIRouter(prefix="/interactions", tags=["interactions"])

Creator = Annotated[Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR))]
Reader = Annotated[
    Principal,
    Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.CLAIMANT)),
]
Lister = Annotated[
    Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR, Role.AGENT))
]
Manager = Annotated[Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR))]
Mover = Annotated[
    Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR, Role.AGENT))
]
AgentOnly = Annotated[Principal, Depends(require_roles(Role.AGENT))]
Leaver = Annotated[Principal, Depends(require_roles(Role.INTEGRATOR, Role.CLAIMANT))]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retry-safe creation: the same key and body always get the same answer",
    ),
]
# Every route here may answer these; each adds its own 409 wording where it has one.
_ERRORS = (401, 403, 404, 503)


@router.post(
    "",
    status_code=201,
    response_model=InteractionCreated,
    summary="Create an interaction",
    responses=problems(
        401,
        403,
        413,
        described={
            409: "Queue full or closed, or Idempotency-Key reused with another body",
            422: "Invalid body, unknown queue or skill",
            503: "The routing service cannot store right now; retry after Retry-After",
        },
    ),
)
async def create_interaction(
    body: InteractionCreate,
    principal: Creator,
    resources: ResourcesDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Store a new interaction and route it at once.

    Answers 201 with its state, place in line and estimated wait. With an
    `Idempotency-Key` header a retry of the same request gets the same answer (and the
    header `Idempotent-Replayed: true`); the same key with another body is a 409.
    """
    response, replayed = await service.create_interaction(
        sessions=resources.sessions,
        routing=resources.routing,
        locks=resources.idempotency_locks,
        principal=principal,
        body=body,
        idempotency_key=idempotency_key,
    )
    headers = {"Location": f"/api/v1/interactions/{response['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(response, status_code=201, headers=headers)


@router.get(
    "",
    response_model=Page[InteractionRead],
    summary="List interactions",
    responses=problems(400, 401, 403, described={422: "A filter value is not valid"}),
)
async def list_interactions(
    session: SessionDep,
    routing: RoutingDep,
    principal: Lister,
    page: PageParamsDep,
    state: InteractionState | None = None,
    queue_id: uuid.UUID | None = None,
    channel: Channel | None = None,
    agent_id: uuid.UUID | None = None,
    customer_id: Annotated[str | None, Query(max_length=200)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[InteractionRead]:
    """Interactions newest first, narrowed by any of the filters; follow `next_cursor`."""
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise NaiveTimeError(f"query.{name}")
    filters = repository.InteractionFilters(
        state=state,
        queue_id=queue_id,
        channel=channel,
        agent_id=agent_id,
        customer_id=customer_id,
        created_from=created_from,
        created_to=created_to,
    )
    rows, cursor = next_cursor(await repository.list_interactions(session, filters, page), page)
    items = await service.with_live_positions(rows, routing)
    return Page[InteractionRead](items=items, next_cursor=cursor)


@router.get(
    "/{interaction_id}",
    response_model=InteractionDetail,
    summary="Read an interaction and its history",
    responses=problems(*_ERRORS),
)
async def get_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: Reader
) -> InteractionDetail:
    """The interaction with every stage timestamp, its live place in line, and its history."""
    if not principal.may_read_interaction(str(interaction_id)):
        raise InteractionNotFoundError()
    row = await repository.get_interaction(session, interaction_id)
    if row is None:
        raise InteractionNotFoundError()
    read = await service.with_live_position(row, routing)
    events = [
        InteractionEventRead.model_validate(event)
        for event in await repository.list_events(session, interaction_id)
    ]
    return InteractionDetail(**read.model_dump(), events=events)


@router.post(
    "/{interaction_id}/cancel",
    response_model=InteractionRead,
    summary="Cancel an open interaction",
    responses=problems(*_ERRORS, described={409: "Already ended"}),
)
async def cancel_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: Manager
) -> InteractionRead:
    """Withdraw an interaction in any open state (waiting, offered, active or wrap-up)."""
    return await _act(
        session, routing, interaction_id, c.Cancel(InteractionId(str(interaction_id)))
    )


@router.post(
    "/{interaction_id}/transfer",
    response_model=InteractionRead,
    summary="Transfer to a queue or a named agent",
    responses=problems(*_ERRORS, described={409: "Not open, or the target cannot take it"}),
)
async def transfer_interaction(
    interaction_id: uuid.UUID,
    body: TransferRequest,
    session: SessionDep,
    routing: RoutingDep,
    resources: ResourcesDep,
    principal: Mover,
) -> InteractionRead:
    """Move an open interaction, keeping its history; an agent may move only its own."""
    await _existing(session, interaction_id)
    await _release_connection(session)
    await service.check_agent_holds(principal, routing, interaction_id)
    to_queue: QueueId | None = None
    if body.queue is not None:
        found = await routing.resolve_queue(body.queue)
        if found is None:
            raise QueueNotFoundError(body.queue, "body.queue")
        to_queue = found[0]
    to_agent = AgentId(str(body.agent_id)) if body.agent_id else None
    await routing.execute(
        c.Transfer(InteractionId(str(interaction_id)), to_queue=to_queue, to_agent=to_agent)
    )
    if body.note is not None:
        # Read by the receiving agent when it takes the interaction, so stored afterwards:
        # a refused transfer leaves no stray note.
        await chat_service.store_internal_note(
            resources, interaction_id, principal.subject_id, principal.name, body.note
        )
    return await _current(session, routing, interaction_id)


@router.post(
    "/{interaction_id}/accept",
    response_model=InteractionRead,
    summary="Accept an offer (agent)",
    responses=problems(*_ERRORS, described={409: "Not offered to you, or the offer expired"}),
)
async def accept_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: AgentOnly
) -> InteractionRead:
    """The signed-in agent takes the interaction offered to them."""
    return await _act(
        session,
        routing,
        interaction_id,
        c.Accept(InteractionId(str(interaction_id)), AgentId(principal.subject_id)),
    )


@router.post(
    "/{interaction_id}/reject",
    response_model=InteractionRead,
    summary="Reject an offer (agent)",
    responses=problems(*_ERRORS, described={409: "Not offered to you"}),
)
async def reject_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: AgentOnly
) -> InteractionRead:
    """The signed-in agent declines; the interaction goes back to its place in line."""
    return await _act(
        session,
        routing,
        interaction_id,
        c.Reject(InteractionId(str(interaction_id)), AgentId(principal.subject_id)),
    )


@router.post(
    "/{interaction_id}/complete",
    response_model=InteractionRead,
    summary="End handling and start wrap-up (agent)",
    responses=problems(*_ERRORS, described={409: "Not active"}),
)
async def complete_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: AgentOnly
) -> InteractionRead:
    """The agent is done talking; wrap-up starts and counts against capacity until finished."""
    return await _act(
        session,
        routing,
        interaction_id,
        c.Complete(InteractionId(str(interaction_id))),
        holder=principal,
    )


@router.post(
    "/{interaction_id}/finish-wrap-up",
    response_model=InteractionRead,
    summary="Finish wrap-up (agent)",
    responses=problems(*_ERRORS, described={409: "Not in wrap-up"}),
)
async def finish_wrap_up(
    interaction_id: uuid.UUID,
    session: SessionDep,
    routing: RoutingDep,
    principal: AgentOnly,
    body: WrapUpRequest | None = None,
) -> InteractionRead:
    """Wrap-up is done: its dispositions and notes are stored, the interaction is completed
    and the capacity is free again."""
    if body is not None:
        await service.check_agent_holds(principal, routing, interaction_id)
        # Checked before storing, so a refused request leaves nothing behind. (Stored in
        # this request's transaction after the writer answered would hold a row lock the
        # writer may need meanwhile.)
        await service.check_in_wrap_up(session, interaction_id)
        await service.record_wrap_up(session, interaction_id, principal.subject_id, body)
    return await _act(
        session,
        routing,
        interaction_id,
        c.FinishWrapUp(InteractionId(str(interaction_id))),
        holder=principal,
    )


@router.post(
    "/{interaction_id}/abandon",
    response_model=InteractionRead,
    summary="The customer left before being answered",
    responses=problems(*_ERRORS, described={409: "Already answered or ended"}),
)
async def abandon_interaction(
    interaction_id: uuid.UUID, session: SessionDep, routing: RoutingDep, principal: Leaver
) -> InteractionRead:
    """Record that the customer gave up while waiting (a hang-up, a closed chat window)."""
    if not principal.may_read_interaction(str(interaction_id)):
        raise InteractionNotFoundError()
    return await _act(
        session, routing, interaction_id, c.Abandon(InteractionId(str(interaction_id)))
    )


async def _act(
    session: SessionDep,
    routing: RoutingDep,
    interaction_id: uuid.UUID,
    command: c.Command,
    *,
    holder: Principal | None = None,
) -> InteractionRead:
    """Apply one lifecycle command to a stored interaction and answer its new state.

    With `holder`, an agent may act only on an interaction it handles.
    """
    # The engine knows every open interaction: the database is asked whether the id
    # exists only when the engine does not know it (a 404 rather than a 409 or 403).
    if holder is not None and not await service.holds(holder, routing, interaction_id):
        await _existing(session, interaction_id)
        await service.check_agent_holds(holder, routing, interaction_id)
    await _release_connection(session)
    try:
        await routing.execute(command)
    except NotFoundError:
        await _existing(session, interaction_id)
        raise
    return await _current(session, routing, interaction_id)


async def _release_connection(session: SessionDep) -> None:
    # Ends the read transaction so its pooled connection goes back before waiting for the
    # writer, which needs connections of its own: requests waiting on the writer while
    # holding the whole pool would stall it.
    await session.commit()


async def _existing(session: SessionDep, interaction_id: uuid.UUID) -> None:
    if await repository.get_interaction(session, interaction_id) is None:
        raise InteractionNotFoundError()


async def _current(
    session: SessionDep, routing: RoutingDep, interaction_id: uuid.UUID
) -> InteractionRead:
    row = await service.fresh_interaction(session, interaction_id)
    return await service.with_live_position(row, routing)
