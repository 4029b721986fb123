"""Rebuilding the engine from the database: configuration first, then open work in order.

Waiting interactions come back with their original queued time, FIFO sequence and
escalation tier; active and wrap-up ones come back on their agents. Offers in flight are
not restored as offers: the interaction waits at its place and is offered again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import agent_config_from_row
from app.interactions.models import Interaction
from app.queues.service import queue_config_from_row
from app.routing import commands as c
from app.routing.engine import Engine, implicit_queue_id
from app.routing.model import (
    AgentId,
    AgentState,
    CustomerId,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    SkillRequirement,
)
from app.runtime import repository


async def rebuild(session: AsyncSession, now: float) -> tuple[Engine, list[c.Command]]:
    """A fresh engine and the commands that put the stored state back into it."""
    commands: list[c.Command] = []
    commands.extend(await queue_commands(session))
    commands.extend(await agent_commands(session))
    commands.extend(interaction_commands(await repository.load_open_interactions(session)))
    return Engine(), commands


def interaction_commands(interactions: list[Interaction]) -> list[c.Command]:
    """Restore commands for open interactions (and the implicit queues they need), in order."""
    return [*_implicit_queues(interactions), *map(_restore_interaction, interactions)]


async def queue_commands(
    session: AsyncSession, queue_id: uuid.UUID | None = None
) -> list[c.Command]:
    """UpsertQueue for every active queue (or for one queue, RemoveQueue if inactive)."""
    commands: list[c.Command] = []
    for queue, skills in await repository.load_queues(session, queue_id):
        if not queue.active:
            commands.append(c.RemoveQueue(QueueId(str(queue.id))))
            continue
        commands.append(c.UpsertQueue(queue_config_from_row(queue, skills)))
    return commands


async def agent_commands(
    session: AsyncSession, staff_id: uuid.UUID | None = None, *, engine: Engine | None = None
) -> list[c.Command]:
    """RestoreAgent for every active agent with its stored presence (UpsertAgent for one).

    Reloading someone who is no longer an agent (a new role) takes them out of routing.
    """
    presence = await repository.load_presence(session)
    agents = await repository.load_agents(session, staff_id)
    if staff_id is not None and not agents:
        return _out_of_routing(AgentId(str(staff_id)), engine)
    commands: list[c.Command] = []
    for staff, skills in agents:
        config = agent_config_from_row(staff, skills)
        if staff_id is not None:
            commands.append(c.UpsertAgent(config))
            if not staff.active:
                commands.append(c.SetAgentState(config.id, AgentState.OFFLINE))
            continue
        stored = presence.get(staff.id)
        state = stored.state if stored is not None else AgentState.OFFLINE
        reason = stored.reason if stored is not None else None
        commands.append(c.RestoreAgent(config, state, reason))
    return commands


def _out_of_routing(agent_id: AgentId, engine: Engine | None) -> list[c.Command]:
    view = engine.agent(agent_id) if engine is not None else None
    if view is None or view.state is AgentState.OFFLINE:
        return []
    return [c.SetAgentState(agent_id, AgentState.OFFLINE)]


def _implicit_queues(interactions: list[Interaction]) -> list[c.Command]:
    seen: set[QueueId] = set()
    commands: list[c.Command] = []
    for row in interactions:
        if row.queue_id is not None or not row.required_skills:
            continue
        required = _requirement(row)
        queue_id = implicit_queue_id(required)
        if queue_id not in seen:
            seen.add(queue_id)
            commands.append(c.UpsertQueue(QueueConfig(id=queue_id, required=required)))
    return commands


def _requirement(row: Interaction) -> frozenset[SkillRequirement]:
    return frozenset(
        SkillRequirement(str(item["skill"]), int(item.get("min_level", 1)))
        for item in row.required_skills
    )


def _queue_id(row: Interaction) -> QueueId:
    if row.queue_id is not None:
        return QueueId(str(row.queue_id))
    return implicit_queue_id(_requirement(row))


def _restore_interaction(row: Interaction) -> c.Command:
    interaction_id = InteractionId(str(row.id))
    queued_at = _epoch(row.queued_at) or _epoch(row.created_at) or 0.0
    customer_id = CustomerId(row.customer_id) if row.customer_id else None
    assigned = row.state in (InteractionState.ACTIVE, InteractionState.WRAP_UP)
    if assigned and row.agent_id is not None:
        return c.RestoreAssigned(
            interaction_id=interaction_id,
            channel=row.channel,
            queue_id=_queue_id(row),
            agent_id=AgentId(str(row.agent_id)),
            wrap_up=row.state is InteractionState.WRAP_UP,
            queued_at=queued_at,
            answered_at=_epoch(row.answered_at) or queued_at,
            seq=row.queue_seq or 0,
            priority=row.priority,
            customer_id=customer_id,
            wrap_up_started_at=_epoch(row.wrap_up_at),
        )
    return c.RestoreQueued(
        interaction_id=interaction_id,
        channel=row.channel,
        queue_id=_queue_id(row),
        queued_at=queued_at,
        seq=row.queue_seq or 0,
        priority=row.priority,
        customer_id=customer_id,
        tier=row.escalation_tier,
        entered_queue_at=_epoch(row.entered_queue_at),
        arrived_at=_epoch(row.created_at),
        target_agent=AgentId(str(row.target_agent_id)) if row.target_agent_id else None,
        target_until=_epoch(row.target_until),
    )


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None
