"""The SQL of the interactions API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.interactions.models import (
    Disposition,
    FollowUp,
    IdempotencyKey,
    Interaction,
    InteractionDisposition,
    InteractionEvent,
)
from app.routing.model import Channel, InteractionState
from app.skills.models import Skill


@dataclass(frozen=True, slots=True)
class InteractionFilters:
    """What a list of interactions may be narrowed by; None means any."""

    state: InteractionState | None = None
    queue_id: uuid.UUID | None = None
    channel: Channel | None = None
    agent_id: uuid.UUID | None = None
    customer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def get_interaction(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction | None:
    """One interaction by id."""
    return await session.get(Interaction, interaction_id)


async def list_events(session: AsyncSession, interaction_id: uuid.UUID) -> list[InteractionEvent]:
    """An interaction's history, oldest first."""
    statement = (
        select(InteractionEvent)
        .where(InteractionEvent.interaction_id == interaction_id)
        .order_by(InteractionEvent.id)
    )
    return list(await session.scalars(statement))


async def list_interactions(
    session: AsyncSession, filters: InteractionFilters, page: PageParams
) -> list[Interaction]:
    """One page of interactions matching `filters`, newest first (plus one to detect more)."""
    statement = paginate(
        _filtered(select(Interaction), filters),
        page,
        created_at=Interaction.created_at,
        id_column=Interaction.id,
    )
    return list(await session.scalars(statement))


def _filtered(
    statement: Select[tuple[Interaction]], filters: InteractionFilters
) -> Select[tuple[Interaction]]:
    if filters.state is not None:
        statement = statement.where(Interaction.state == filters.state)
    if filters.queue_id is not None:
        statement = statement.where(Interaction.queue_id == filters.queue_id)
    if filters.channel is not None:
        statement = statement.where(Interaction.channel == filters.channel)
    if filters.agent_id is not None:
        statement = statement.where(Interaction.agent_id == filters.agent_id)
    if filters.customer_id is not None:
        statement = statement.where(Interaction.customer_id == filters.customer_id)
    if filters.created_from is not None:
        statement = statement.where(Interaction.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(Interaction.created_at < filters.created_to)
    return statement


async def existing_skill_names(session: AsyncSession, names: Sequence[str]) -> set[str]:
    """Which of `names` are active skills."""
    rows = await session.scalars(select(Skill.name).where(Skill.name.in_(names), Skill.active))
    return set(rows)


async def find_idempotency_key(
    session: AsyncSession, principal_id: str, key: str
) -> IdempotencyKey | None:
    """An earlier creation by the same caller with the same key."""
    return await session.get(IdempotencyKey, (principal_id, key))


async def active_disposition_ids(session: AsyncSession, wanted: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `wanted` that are active dispositions."""
    if not wanted:
        return set()
    found = await session.scalars(
        select(Disposition.id).where(Disposition.id.in_(wanted), Disposition.active.is_(True))
    )
    return set(found)


async def record_wrap_up(
    session: AsyncSession,
    interaction_id: uuid.UUID,
    *,
    disposition_ids: Sequence[uuid.UUID],
    notes: str | None,
    recorded_by: uuid.UUID | None,
) -> None:
    """Replace the interaction's dispositions and set its wrap-up notes."""
    await session.execute(
        delete(InteractionDisposition).where(
            InteractionDisposition.interaction_id == interaction_id
        )
    )
    session.add_all(
        InteractionDisposition(
            interaction_id=interaction_id, disposition_id=one, recorded_by=recorded_by
        )
        for one in disposition_ids
    )
    if notes is not None:
        await session.execute(
            update(Interaction).where(Interaction.id == interaction_id).values(wrap_up_notes=notes)
        )


def add_follow_up(
    session: AsyncSession,
    interaction_id: uuid.UUID,
    *,
    agent_id: uuid.UUID,
    due_at: datetime,
    note: str | None,
) -> None:
    """Keep a promised callback until it falls due."""
    session.add(
        FollowUp(interaction_id=interaction_id, agent_id=agent_id, due_at=due_at, note=note)
    )
