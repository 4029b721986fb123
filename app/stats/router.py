"""HTTP routes of real-time statistics, read from the routing engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app import clock
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.routing.stats import QueueKpis
from app.state import RoutingDep
from app.stats.schemas import AgentStats, AgentStatsList, Kpis, QueueStats, QueueStatsList

router = APIRouter(prefix="/stats", tags=["stats"])
Watcher = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR))]
_ERRORS = problems(401, described={403: "Only admins, supervisors and integrators"})


@router.get("/queues", response_model=QueueStatsList, summary="Queues now", responses=_ERRORS)
async def get_queue_stats(routing: RoutingDep, principal: Watcher) -> QueueStatsList:
    """Waiting and offered counts, oldest wait, able agents and metrics of every queue."""
    now = clock.now_s()
    engine = routing.engine
    snapshot = engine.stats(now)
    queues = []
    for queue_id, current in sorted(snapshot.queues.items()):
        view = engine.queue(queue_id)
        queues.append(
            QueueStats(
                queue_id=queue_id,
                name=view.name if view else queue_id,
                waiting=current.waiting,
                offered=current.offered,
                oldest_wait_s=_round(current.oldest_wait_s),
                eligible_agents=view.eligible_agents if view else 0,
                available_agents=view.available_agents if view else 0,
                since_start=_kpis(current.totals),
                current_interval=_kpis(current.current_interval),
            )
        )
    return QueueStatsList(at=clock.to_datetime(now), queues=queues)


@router.get("/agents", response_model=AgentStatsList, summary="Agents now", responses=_ERRORS)
async def get_agent_stats(routing: RoutingDep, principal: Watcher) -> AgentStatsList:
    """Every agent's presence and load, the count of agents by state, and occupancy."""
    now = clock.now_s()
    engine = routing.engine
    snapshot = engine.stats(now)
    agents = []
    for agent_id in sorted(engine.agent_ids()):
        view = engine.agent(agent_id)
        if view is None:
            continue
        agents.append(
            AgentStats(
                agent_id=agent_id,
                name=view.name,
                state=view.state.value,
                reason=view.reason,
                load={channel.value: count for channel, count in view.load.items() if count},
                interactions=len(view.interactions),
                idle_since=clock.to_datetime(view.idle_since) if view.idle_since else None,
            )
        )
    return AgentStatsList(
        at=clock.to_datetime(now),
        agents_by_state=snapshot.agents_by_state,
        occupancy=_round(snapshot.occupancy, 4),
        agents=agents,
    )


def _kpis(kpis: QueueKpis) -> Kpis:
    return Kpis(
        arrived=kpis.arrived,
        answered=kpis.answered,
        abandoned=kpis.abandoned,
        completed=kpis.completed,
        asa_s=_round(kpis.asa_s),
        service_level=_round(kpis.service_level, 4),
        abandon_rate=_round(kpis.abandon_rate, 4),
        aht_s=_round(kpis.aht_s),
    )


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
