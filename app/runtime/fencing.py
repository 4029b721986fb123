"""Fencing in the database: only the holder of the newest lease number may write.

The lease lives in Redis and can lapse while its holder is paused or cut off; the number it
carries is checked here, inside every writer transaction, so a stale writer is refused by
the database itself rather than trusted to notice in time.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.runtime.models import WriterFence

_ROW_ID = 1


class FencedOutError(Exception):
    """A newer writer holds the fence: this process must stop writing."""


async def current_fence(session: AsyncSession) -> int:
    """The highest fencing number any writer has claimed (0 before the first)."""
    fence = await session.scalar(select(WriterFence.fence).where(WriterFence.id == _ROW_ID))
    return fence or 0


async def claim_fence(session: AsyncSession, fence: int, holder: str) -> None:
    """Record `fence` as the current writer's number and commit; refuse an older one."""
    claimed = await session.execute(
        update(WriterFence)
        .where(WriterFence.id == _ROW_ID, WriterFence.fence < fence)
        .values(fence=fence, holder=holder, since=clock.utcnow())
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        if await session.get(WriterFence, _ROW_ID) is not None:
            await session.rollback()
            raise FencedOutError(f"fence {fence} is not newer than the database's")
        try:
            await session.execute(
                insert(WriterFence).values(
                    id=_ROW_ID, fence=fence, holder=holder, since=clock.utcnow()
                )
            )
        except IntegrityError:
            await session.rollback()
            raise FencedOutError("another writer claimed the first fence meanwhile") from None
    await session.commit()


async def check_fence(session: AsyncSession, fence: int) -> None:
    """Lock the fence row for this transaction, or raise if a newer writer has taken it.

    Run it before the transaction's first write: holding the row lock until commit orders
    this transaction entirely before or entirely after a successor's claim.
    """
    held = await session.execute(
        update(WriterFence)
        .where(WriterFence.id == _ROW_ID, WriterFence.fence == fence)
        .values(fence=fence)
    )
    if held.rowcount == 0:  # type: ignore[attr-defined]
        raise FencedOutError(f"fence {fence} is no longer current: another writer took over")
