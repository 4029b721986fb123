"""SQL of the dispositions domain (the `Disposition` model lives with interactions)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.interactions.models import Disposition


async def get_disposition(session: AsyncSession, disposition_id: uuid.UUID) -> Disposition | None:
    """The disposition with this id, or None."""
    return await session.get(Disposition, disposition_id)


async def code_exists(session: AsyncSession, code: str) -> bool:
    """True when a disposition (active or not) already has this code."""
    return await session.scalar(select(Disposition.id).where(Disposition.code == code)) is not None


async def list_dispositions(
    session: AsyncSession, params: PageParams, *, active: bool | None
) -> list[Disposition]:
    """One page of dispositions, newest first, with the extra row `next_cursor` looks for."""
    statement = select(Disposition)
    if active is not None:
        statement = statement.where(Disposition.active == active)
    statement = paginate(
        statement, params, created_at=Disposition.created_at, id_column=Disposition.id
    )
    return list(await session.scalars(statement))
