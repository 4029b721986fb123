"""HTTP routes of real-time statistics, read from the routing engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.runtime import reads
from app.state import RoutingDep
from app.stats.schemas import AgentStatsList, QueueStatsList

router = APIRouter(prefix="/stats", tags=["stats"])
Watcher = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR))]
_ERRORS = problems(401, described={403: "Only admins, supervisors and integrators"})


@router.get("/queues", response_model=QueueStatsList, summary="Queues now", responses=_ERRORS)
async def get_queue_stats(routing: RoutingDep, principal: Watcher) -> QueueStatsList:
    """Waiting and offered counts, oldest wait, able agents and metrics of every queue."""
    return QueueStatsList.model_validate(await routing.query(reads.QUEUE_STATS))


@router.get("/agents", response_model=AgentStatsList, summary="Agents now", responses=_ERRORS)
async def get_agent_stats(routing: RoutingDep, principal: Watcher) -> AgentStatsList:
    """Every agent's presence and load, the count of agents by state, and occupancy."""
    return AgentStatsList.model_validate(await routing.query(reads.AGENT_STATS))
