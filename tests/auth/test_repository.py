"""The refresh-token SQL on every backend: one rotation wins, a family is revoked at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.agents.models import StaffRole
from app.agents.service import create_staff
from app.auth import repository
from app.auth.models import RefreshToken
from app.db.base import new_id
from app.db.migrate import upgrade_async
from app.db.session import create_engine, create_session_factory


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a freshly migrated database of each backend."""
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _token(session: AsyncSession, staff_id: object, family_id: object) -> RefreshToken:
    now = clock.utcnow()
    token = RefreshToken(
        id=new_id(),
        staff_id=staff_id,
        family_id=family_id,
        token_hash=new_id().hex,
        created_at=now,
        expires_at=now + timedelta(days=30),
    )
    await repository.add_refresh_token(session, token)
    return token


async def test_a_token_is_replaced_once_and_its_family_revoked_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    family, other_family = new_id(), new_id()
    now = clock.utcnow()
    async with sessions() as session, session.begin():
        staff = await create_staff(
            session, username="maria", password="test-password-1", role=StaffRole.AGENT
        )
        first = await _token(session, staff.id, family)
        second = await _token(session, staff.id, family)
        elsewhere = await _token(session, staff.id, other_family)
        assert await repository.mark_refresh_token_replaced(
            session, first.id, replaced_by=second.id, now=now
        )
        assert not await repository.mark_refresh_token_replaced(
            session, first.id, replaced_by=second.id, now=now
        )
        await repository.revoke_refresh_token_family(session, family, now=now)

    async with sessions() as session:
        found = await repository.get_refresh_token(session, second.token_hash)
        untouched = await repository.get_refresh_token(session, elsewhere.token_hash)
    assert found is not None and found.revoked_at == now
    assert untouched is not None and untouched.revoked_at is None
