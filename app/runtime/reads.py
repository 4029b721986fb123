"""The read-only questions edges ask the writer's engine, each answered with plain JSON.

They are named so that a standby process can ask them over the request stream; the answers
are validated into the API's schemas by the routers that ask.
"""

from __future__ import annotations

from typing import Any

from app import clock
from app.routing.model import AgentId, Channel, InteractionId, QueueId
from app.routing.queries import ChannelNow
from app.routing.stats import QueueKpis
from app.runtime.host import QueryHandler
from app.runtime.worker import RoutingWorker

RESOLVE_QUEUE = "queues.resolve"
PLACES = "interactions.places"
HOLDER = "interactions.holder"
PRESENCE = "agents.presence"
QUEUE_STATS = "stats.queues"
AGENT_STATS = "stats.agents"


def resolve_queue(worker: RoutingWorker, now: float, args: dict[str, Any]) -> list[str] | None:
    """[id, name] of the routable queue with this id or exact name, or None."""
    reference = str(args["reference"])
    name = worker.queue_names_by_id.get(QueueId(reference))
    if name is not None:
        return [reference, name]
    queue_id = worker.queue_ids_by_name.get(reference)
    return [queue_id, reference] if queue_id is not None else None


def places(worker: RoutingWorker, now: float, args: dict[str, Any]) -> dict[str, Any]:
    """Place in line and estimated wait (seconds, one decimal) of each waiting interaction."""
    found: dict[str, Any] = {}
    for interaction_id in args["ids"]:
        place = worker.engine.position(InteractionId(interaction_id), now)
        if place is not None:
            position, wait_s = place
            found[interaction_id] = [position, None if wait_s is None else round(wait_s, 1)]
    return found


def holder(worker: RoutingWorker, now: float, args: dict[str, Any]) -> str | None:
    """The agent holding or offered the interaction, or None."""
    view = worker.engine.interaction(InteractionId(args["id"]))
    return None if view is None else view.agent_id


def presence(worker: RoutingWorker, now: float, args: dict[str, Any]) -> dict[str, Any] | None:
    """An agent's presence and load, or None for an agent the engine does not route to."""
    view = worker.engine.agent(AgentId(args["agent_id"]))
    if view is None:
        return None
    return {
        "agent_id": view.id,
        "name": view.name,
        "state": view.state.value,
        "reason": view.reason,
        "load": {channel.value: count for channel, count in view.load.items() if count},
        "interactions": list(view.interactions),
        "idle_since": _instant(view.idle_since or None),
    }


def queue_stats(worker: RoutingWorker, now: float, args: dict[str, Any]) -> dict[str, Any]:
    """Waiting and offered counts, oldest wait, able agents and metrics of every queue, with
    waiting, offered and oldest wait split by channel (`by_channel`)."""
    engine = worker.engine
    snapshot = engine.stats(now)
    queues = []
    for queue_id, current in sorted(snapshot.queues.items()):
        view = engine.queue(queue_id)
        queues.append(
            {
                "queue_id": queue_id,
                "name": view.name if view else queue_id,
                "waiting": current.waiting,
                "offered": current.offered,
                "oldest_wait_s": _round(current.oldest_wait_s),
                "eligible_agents": view.eligible_agents if view else 0,
                "available_agents": view.available_agents if view else 0,
                "since_start": _kpis(current.totals),
                "current_interval": _kpis(current.current_interval),
                # Read in the same turn as the counts above, so the channels add up to them.
                "by_channel": _by_channel(engine.queue_channels(queue_id), now),
            }
        )
    return {"at": _instant(now), "queues": queues}


def agent_stats(worker: RoutingWorker, now: float, args: dict[str, Any]) -> dict[str, Any]:
    """Every agent's presence and load, the count of agents by state, and occupancy."""
    engine = worker.engine
    snapshot = engine.stats(now)
    agents = [
        presence(worker, now, {"agent_id": agent_id}) for agent_id in sorted(engine.agent_ids())
    ]
    return {
        "at": _instant(now),
        "agents_by_state": snapshot.agents_by_state,
        "occupancy": _round(snapshot.occupancy, 4),
        # The statistics count what each agent holds; presence lists it.
        "agents": [
            {**agent, "interactions": len(agent["interactions"])}
            for agent in agents
            if agent is not None
        ],
    }


READS: dict[str, QueryHandler] = {
    RESOLVE_QUEUE: resolve_queue,
    PLACES: places,
    HOLDER: holder,
    PRESENCE: presence,
    QUEUE_STATS: queue_stats,
    AGENT_STATS: agent_stats,
}


def _kpis(kpis: QueueKpis) -> dict[str, Any]:
    return {
        "arrived": kpis.arrived,
        "answered": kpis.answered,
        "abandoned": kpis.abandoned,
        "completed": kpis.completed,
        "asa_s": _round(kpis.asa_s),
        "service_level": _round(kpis.service_level, 4),
        "abandon_rate": _round(kpis.abandon_rate, 4),
        "aht_s": _round(kpis.aht_s),
    }


def _by_channel(channels: dict[Channel, ChannelNow], now: float) -> dict[str, Any]:
    return {
        channel.value: {
            "waiting": found.waiting,
            "offered": found.offered,
            "oldest_wait_s": None
            if found.oldest_queued_at is None
            else _round(max(0.0, now - found.oldest_queued_at)),
        }
        for channel, found in channels.items()
    }


def _instant(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else clock.to_datetime(epoch_s).isoformat()


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
