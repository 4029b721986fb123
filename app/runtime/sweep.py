"""The periodic sweep: compares the engine with the database and repairs what drifted.

Work stuck unassigned forever is the failure contact centers report most, so every
repair is logged at WARNING with what was found and what was done. The sweep runs inside
the writer between two batches, when everything applied is also committed, so a change
in flight is never mistaken for drift. It reads only ids and states, to stay short.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Staff, StaffRole
from app.interactions.models import Interaction
from app.routing import commands as c
from app.routing.engine import Engine
from app.routing.model import AgentState, InteractionId
from app.runtime import recovery, repository
from app.runtime.wire import as_uuid

logger = logging.getLogger(__name__)
# A timer this long overdue (an offer time-out, an escalation) was lost.
LATE_TIMER_GRACE_S = 5.0


async def reconcile(session: AsyncSession, engine: Engine, now: float) -> list[c.Command]:
    """The commands that bring the engine back in line with the database."""
    open_in_database = set(await repository.open_interaction_ids(session))
    open_in_engine = {
        parsed for text in engine.interaction_ids() if (parsed := as_uuid(text)) is not None
    }
    repairs: list[c.Command] = []
    repairs.extend(await _restore_missing(session, open_in_database - open_in_engine))
    repairs.extend(await _withdraw_ended(session, open_in_engine - open_in_database))
    repairs.extend(await _agents_out_of_step(session, engine))
    deadline = engine.next_deadline()
    if deadline is not None and deadline + LATE_TIMER_GRACE_S < now:
        logger.warning("sweep: a timer is %.1fs overdue; firing it", now - deadline)
        repairs.append(c.Tick())
    return repairs


async def _restore_missing(session: AsyncSession, ids: set[uuid.UUID]) -> list[c.Command]:
    if not ids:
        return []
    missing = await repository.load_interactions(session, sorted(ids))
    for row in missing:
        logger.warning(
            "sweep: interaction %s is %s in the database but unknown to the engine; restoring",
            row.id,
            row.state.value,
        )
    return recovery.interaction_commands(missing)


async def _withdraw_ended(session: AsyncSession, ids: set[uuid.UUID]) -> list[c.Command]:
    if not ids:
        return []
    rows = await session.execute(
        select(Interaction.id, Interaction.state).where(Interaction.id.in_(sorted(ids)))
    )
    states = dict(rows.all())
    repairs: list[c.Command] = []
    for interaction_id in sorted(ids):
        state = states.get(interaction_id)
        logger.warning(
            "sweep: interaction %s is open in the engine but %s in the database; withdrawing it",
            interaction_id,
            state.value if state else "missing",
        )
        repairs.append(c.Cancel(InteractionId(str(interaction_id))))
    return repairs


async def _agents_out_of_step(session: AsyncSession, engine: Engine) -> list[c.Command]:
    rows = await session.execute(
        select(Staff.id, Staff.active).where(Staff.role == StaffRole.AGENT)
    )
    active = {str(staff_id): is_active for staff_id, is_active in rows.all()}
    repairs: list[c.Command] = []
    for agent_id in engine.agent_ids():
        view = engine.agent(agent_id)
        if view is None or active.get(agent_id, False) or view.state is AgentState.OFFLINE:
            continue
        logger.warning("sweep: agent %s is deactivated but routable; setting offline", agent_id)
        repairs.append(c.SetAgentState(agent_id, AgentState.OFFLINE))
    known = set(engine.agent_ids())
    for staff_id, is_active in active.items():
        if is_active and staff_id not in known:
            logger.warning("sweep: active agent %s is unknown to the engine; adding it", staff_id)
            repairs.extend(await recovery.agent_commands(session, uuid.UUID(staff_id)))
    return repairs
