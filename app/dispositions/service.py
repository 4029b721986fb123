"""Rules of the dispositions domain: unique codes."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.dispositions import repository
from app.dispositions.errors import DispositionCodeTakenError, DispositionNotFoundError
from app.dispositions.schemas import DispositionCreate, DispositionUpdate
from app.interactions.models import Disposition


async def get_disposition(session: AsyncSession, *, disposition_id: uuid.UUID) -> Disposition:
    """The disposition with this id, or `DispositionNotFoundError`."""
    disposition = await repository.get_disposition(session, disposition_id)
    if disposition is None:
        raise DispositionNotFoundError()
    return disposition


async def create_disposition(session: AsyncSession, *, data: DispositionCreate) -> Disposition:
    """Add a disposition after checking that its code is free; flushes."""
    if await repository.code_exists(session, data.code):
        raise DispositionCodeTakenError(data.code)
    disposition = Disposition(code=data.code, label=data.label, description=data.description)
    session.add(disposition)
    await session.flush()
    return disposition


async def update_disposition(
    session: AsyncSession, *, disposition_id: uuid.UUID, data: DispositionUpdate
) -> Disposition:
    """Change the fields the caller sent; flushes."""
    disposition = await get_disposition(session, disposition_id=disposition_id)
    if data.label is not None:
        disposition.label = data.label
    if data.description is not None:
        disposition.description = data.description
    await session.flush()
    return disposition


async def set_disposition_active(
    session: AsyncSession, *, disposition_id: uuid.UUID, active: bool
) -> Disposition:
    """Activate or deactivate a disposition; outcomes already recorded keep it."""
    disposition = await get_disposition(session, disposition_id=disposition_id)
    disposition.active = active
    await session.flush()
    return disposition
