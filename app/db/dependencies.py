"""The per-request unit of work: one session, committed before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.state import ResourcesDep


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """Yield a session; commit if the handler returned, roll back if it raised."""
    async with resources.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": the commit happens before the response goes out, so a client never
# sees a success for something that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
