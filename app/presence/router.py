"""HTTP routes of presence: read or set an agent's state."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.errors import PermissionDeniedError
from app.auth.principals import Principal, Role
from app.errors import NotFoundError
from app.presence.schemas import AvailableAgent, PresenceRead, PresenceUpdate
from app.routing import commands as c
from app.routing.model import AgentId, AgentState
from app.runtime import reads
from app.state import RoutingDep

router = APIRouter(prefix="/agents", tags=["presence"])
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]
_ERRORS = problems(401, 404, 503, described={403: "Agents may only see and set their own presence"})


# Declared before the agents router's /agents/{agent_id} (api/router.py mounts presence first),
# so "available" is never read as an agent id.
@router.get(
    "/available",
    response_model=list[AvailableAgent],
    summary="Agents available now",
    responses=problems(401, 403, 503),
)
async def list_available_agents(routing: RoutingDep, principal: Staff) -> list[AvailableAgent]:
    """Agents who are available now, by name: whom an agent may transfer a chat to."""
    found = await routing.query(reads.AGENT_STATS)
    return [
        AvailableAgent(agent_id=agent["agent_id"], name=agent["name"], load=agent["load"])
        for agent in sorted(found["agents"], key=lambda agent: str(agent["name"]))
        if agent["state"] == AgentState.AVAILABLE.value
        and agent["agent_id"] != principal.subject_id
    ]


@router.get(
    "/{agent_id}/presence", response_model=PresenceRead, summary="Read presence", responses=_ERRORS
)
async def get_presence(agent_id: uuid.UUID, routing: RoutingDep, principal: Staff) -> PresenceRead:
    """The agent's state, reason, load per channel and the interactions it holds."""
    _check_self_or_supervisor(principal, agent_id)
    return await _presence(routing, agent_id)


@router.put(
    "/{agent_id}/presence",
    response_model=PresenceRead,
    summary="Set presence",
    responses={**_ERRORS, **problems(422)},
)
async def set_presence(
    agent_id: uuid.UUID, body: PresenceUpdate, routing: RoutingDep, principal: Staff
) -> PresenceRead:
    """Go available, busy (with a reason) or offline; supervisors may set anyone's.

    Going offline revokes open offers; interactions already held stay with the agent.
    """
    _check_self_or_supervisor(principal, agent_id)
    await _presence(routing, agent_id)
    await routing.execute(c.SetAgentState(AgentId(str(agent_id)), body.state, body.reason))
    return await _presence(routing, agent_id)


def _check_self_or_supervisor(principal: Principal, agent_id: uuid.UUID) -> None:
    if principal.role is Role.AGENT and principal.subject_id != str(agent_id):
        raise PermissionDeniedError("Agents may only see and set their own presence.")


async def _presence(routing: RoutingDep, agent_id: uuid.UUID) -> PresenceRead:
    found = await routing.presence(agent_id)
    if found is None:
        raise NotFoundError("No active agent with that id.", code="agent_not_found")
    return PresenceRead.model_validate(found)
