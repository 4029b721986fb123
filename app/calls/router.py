"""HTTP routes of calls: ICE servers for browsers, and a telephony platform's call events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app import clock
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.calls import service
from app.calls.schemas import CallEventCreate, CallRead, IceServers
from app.db.dependencies import SessionDep
from app.state import ResourcesDep, RoutingDep

router = APIRouter(tags=["calls"])

CallParticipant = Annotated[
    Principal,
    Depends(require_roles(Role.CLAIMANT, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)),
]
Telephony = Annotated[Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN))]
CallReader = Annotated[
    Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN, Role.SUPERVISOR, Role.AGENT))
]


@router.get(
    "/calls/ice-servers",
    summary="ICE servers for a browser call",
    responses=problems(401, 403),
    # A STUN entry carries no `username: null`, which a browser would read as "null".
    response_model_exclude_none=True,
)
async def get_ice_servers(
    resources: ResourcesDep, principal: CallParticipant, response: Response
) -> IceServers:
    """The `iceServers` list to pass as is to `new RTCPeerConnection({iceServers})`: the
    STUN servers, and the TURN servers with credentials of this caller's own that expire
    after `ttl_s`. A claimant's or a staff token; empty when no server is configured."""
    # Credentials: never kept by a browser cache or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return service.ice_servers_for(resources.settings, principal, now=clock.now_s())


@router.post(
    "/interactions/{interaction_id}/call-events",
    summary="Report a call event (telephony)",
    responses=problems(
        401,
        403,
        404,
        503,
        described={
            409: "Not a call, an event out of order (e.g. `resumed` while not on hold), "
            "or another call's id",
            422: "Invalid body, or a time before the call's previous event",
        },
    ),
)
async def post_call_event(
    interaction_id: uuid.UUID,
    body: CallEventCreate,
    session: SessionDep,
    routing: RoutingDep,
    principal: Telephony,
) -> CallRead:
    """`answered`, `held`, `resumed` or `ended`, posted by the telephony platform bridging
    the call. Each is stored in the interaction's history and updates the call's figures;
    `ended` wraps up the interaction (or abandons it if no agent had it yet). A repeated
    `ended` changes nothing. Answers the call's state."""
    ends = await service.record_call_event(
        session, principal=principal, interaction_id=interaction_id, body=body
    )
    # Stored before the writer is asked: a failure there leaves the event recorded, and
    # the telephony's retry of `ended` finishes the job.
    await session.commit()
    if ends:
        await service.end_interaction(session, routing, interaction_id)
    return await service.read_call(session, interaction_id)


@router.get(
    "/interactions/{interaction_id}/call",
    summary="Read a call's figures",
    responses=problems(401, 403, 404, described={409: "Not a call"}),
)
async def get_call(
    interaction_id: uuid.UUID, session: SessionDep, principal: CallReader
) -> CallRead:
    """Where the call stands (ringing, connected, held, ended), when it connected, time on
    hold, talk time once ended, and who ended it."""
    return await service.read_call(session, interaction_id)
