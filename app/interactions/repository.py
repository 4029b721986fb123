"""The SQL of the interactions API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.interactions.models import IdempotencyKey, Interaction, InteractionEvent
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
