"""The SQL of the calls API."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.agents.models import Staff
from app.calls.models import Call, CallStatus
from app.interactions.counted import ACCEPTED, CALL_ANSWERED
from app.interactions.models import Interaction, InteractionEvent


async def get_call(session: AsyncSession, interaction_id: uuid.UUID) -> Call | None:
    """An interaction's call row, if any event created it."""
    return await session.get(Call, interaction_id)


async def lock_call(session: AsyncSession, interaction_id: uuid.UUID) -> Call:
    """The interaction's call row, created if absent, locked until the transaction ends.

    Two events of one call posted at once are then checked one after the other. (SQLite
    has no row locks; its insert takes the database's write lock, which serialises too.)
    """
    now = clock.utcnow()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Call).values(
        interaction_id=interaction_id,
        status=CallStatus.RINGING,
        hold_s=0.0,
        hold_count=0,
        legs=0,
        connected_s=0.0,
        quality={},
        created_at=now,
        updated_at=now,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["interaction_id"]))
    call = await session.scalar(
        select(Call)
        .where(Call.interaction_id == interaction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert call is not None, "the row was just ensured"
    return call


# Built once: the routing writer asks after every batch that ends or transfers an
# interaction, and building the statement cost more than running it.
_BROWSER_CALLS_UP_CONDITIONS = (
    Call.interaction_id.in_(bindparam("interaction_ids", expanding=True)),
    Call.status != CallStatus.ENDED,
    Call.call_id.is_(None),
    Interaction.external_id.is_(None),
)
_ANY_BROWSER_CALL_UP = (
    select(Call.interaction_id)
    .join(Interaction, Interaction.id == Call.interaction_id)
    .where(*_BROWSER_CALLS_UP_CONDITIONS)
    .limit(1)
)
_BROWSER_CALLS_UP = (
    select(Call)
    .join(Interaction, Interaction.id == Call.interaction_id)
    .where(*_BROWSER_CALLS_UP_CONDITIONS)
    .with_for_update(of=Call)
    .execution_options(populate_existing=True)
)


async def browser_calls_up(
    session: AsyncSession, interaction_ids: Sequence[uuid.UUID]
) -> list[Call]:
    """The calls of these interactions not ended yet that run between browsers (no
    telephony call id, on an interaction no platform created), locked like `lock_call`."""
    wanted = {"interaction_ids": list(interaction_ids)}
    # Almost always none: asked first without the ORM, which costs more than the query.
    connection = await session.connection()
    if (await connection.execute(_ANY_BROWSER_CALL_UP, wanted)).first() is None:
        return []
    rows = await session.scalars(_BROWSER_CALLS_UP, wanted)
    return list(rows)


async def last_acceptance(
    session: AsyncSession, interaction_id: uuid.UUID
) -> tuple[int, datetime, dict[str, Any]] | None:
    """The event of the interaction's latest acceptance by an agent: (id, at, data); None
    if never accepted."""
    row = (
        await session.execute(
            select(InteractionEvent.id, InteractionEvent.at, InteractionEvent.data)
            .where(
                InteractionEvent.interaction_id == interaction_id,
                InteractionEvent.type == ACCEPTED,
            )
            .order_by(InteractionEvent.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1], dict(row[2] or {}))


async def answered_after(session: AsyncSession, interaction_id: uuid.UUID, event_id: int) -> bool:
    """Whether the interaction's call was answered after the event `event_id`."""
    found = await session.scalar(
        select(InteractionEvent.id)
        .where(
            InteractionEvent.interaction_id == interaction_id,
            InteractionEvent.type == CALL_ANSWERED,
            InteractionEvent.id > event_id,
        )
        .limit(1)
    )
    return found is not None


def add_event(
    session: AsyncSession,
    interaction_id: uuid.UUID,
    *,
    event_type: str,
    at: datetime,
    actor: tuple[str, str | None],
    data: dict[str, Any],
) -> None:
    """Append a call event to the interaction's history; `actor` is (kind, id)."""
    actor_kind, actor_id = actor
    session.add(
        InteractionEvent(
            interaction_id=interaction_id,
            type=event_type,
            at=at,
            actor_kind=actor_kind,
            actor_id=actor_id,
            data=data,
        )
    )


async def phone_endpoints(
    session: AsyncSession, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """The phone endpoint of each of those staff members (one query)."""
    if not staff_ids:
        return {}
    rows = await session.execute(
        select(Staff.id, Staff.phone_endpoint).where(Staff.id.in_(list(staff_ids)))
    )
    return {staff_id: endpoint for staff_id, endpoint in rows}


async def external_ids(
    session: AsyncSession, interaction_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """The integrator's own id of each of those interactions (one query)."""
    if not interaction_ids:
        return {}
    rows = await session.execute(
        select(Interaction.id, Interaction.external_id).where(
            Interaction.id.in_(list(interaction_ids))
        )
    )
    return {interaction_id: external_id for interaction_id, external_id in rows}
