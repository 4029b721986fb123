"""The writer's fence in the database (app/runtime/fencing.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.session import create_engine, create_session_factory
from app.runtime.fencing import FencedOutError, check_fence, claim_fence, current_fence
from app.runtime.models import WriterFence
from app.settings import Settings


@pytest.fixture
async def sessions(migrated_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database of each backend in turn."""
    engine = create_engine(migrated_settings.effective_database_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _fence_row(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, str] | None:
    async with sessions() as session:
        row = await session.get(WriterFence, 1)
        return None if row is None else (row.fence, row.holder)


async def test_the_first_claim_records_the_fence_and_its_holder(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        assert await current_fence(session) == 0
        await claim_fence(session, 1, "first")
    assert await _fence_row(sessions) == (1, "first")


async def test_a_claim_with_a_newer_fence_takes_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await claim_fence(session, 1, "old")
    async with sessions() as session:
        await claim_fence(session, 5, "new")
    async with sessions() as session:
        assert await current_fence(session) == 5
    assert await _fence_row(sessions) == (5, "new")


@pytest.mark.parametrize("stale", [5, 4, 1], ids=["equal", "older", "much-older"])
async def test_a_claim_with_an_equal_or_older_fence_is_refused(
    sessions: async_sessionmaker[AsyncSession], stale: int
) -> None:
    async with sessions() as session:
        await claim_fence(session, 5, "current")
    async with sessions() as session:
        with pytest.raises(FencedOutError):
            await claim_fence(session, stale, "stale")
    assert await _fence_row(sessions) == (5, "current")


async def test_check_fence_passes_for_the_current_fence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await claim_fence(session, 3, "current")
    async with sessions() as session, session.begin():
        await check_fence(session, 3)
    assert await _fence_row(sessions) == (3, "current")


async def test_check_fence_refuses_a_fence_older_than_the_current(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await claim_fence(session, 2, "old")
    async with sessions() as session:
        await claim_fence(session, 3, "new")
    async with sessions() as session:
        with pytest.raises(FencedOutError):
            await check_fence(session, 2)
        await session.rollback()
    assert await _fence_row(sessions) == (3, "new")


async def test_check_fence_refuses_any_fence_before_a_writer_claimed_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(FencedOutError):
            await check_fence(session, 1)
