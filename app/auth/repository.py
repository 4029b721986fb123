"""The SQL of sign-in, refresh tokens and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Staff
from app.api.pagination import PageParams, paginate
from app.auth.models import ApiKey, RefreshToken


async def get_staff_by_username(session: AsyncSession, username: str) -> Staff | None:
    """The staff account with this (normalised) username."""
    return await session.scalar(select(Staff).where(Staff.username == username))


async def get_staff(session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
    """The staff account with this id."""
    return await session.get(Staff, staff_id)


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    """Store a new refresh token row."""
    session.add(token)
    await session.flush()


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The refresh token with this hash, revoked or not."""
    return await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


async def mark_refresh_token_replaced(
    session: AsyncSession, token_id: uuid.UUID, *, replaced_by: uuid.UUID, now: datetime
) -> bool:
    """Revoke a live token in favour of its successor; False if it was no longer live.

    The check and the change are one UPDATE, so two requests racing with one token cannot
    both rotate it.
    """
    rotated = await session.scalar(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, replaced_by=replaced_by)
        .returning(RefreshToken.id)
    )
    return rotated is not None


async def revoke_refresh_token_family(
    session: AsyncSession, family_id: uuid.UUID, *, now: datetime
) -> None:
    """Revoke every still-live token of one sign-in."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_staff_refresh_tokens(
    session: AsyncSession, staff_id: uuid.UUID, *, now: datetime
) -> None:
    """End every live sign-in of one member of staff."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.staff_id == staff_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def add_api_key(session: AsyncSession, key: ApiKey) -> None:
    """Store a new API key row."""
    session.add(key)
    await session.flush()


async def get_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    """The API key with this id."""
    return await session.get(ApiKey, key_id)


async def list_api_keys(session: AsyncSession, params: PageParams) -> list[ApiKey]:
    """One page of API keys, newest first (plus one row to tell whether more follow)."""
    statement = paginate(select(ApiKey), params, created_at=ApiKey.created_at, id_column=ApiKey.id)
    return list(await session.scalars(statement))


async def touch_api_key(
    session: AsyncSession, key_id: uuid.UUID, *, now: datetime, every_s: float
) -> None:
    """Set `last_used_at` to `now` unless it was set less than `every_s` seconds ago."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at <= now - timedelta(seconds=every_s),
            ),
        )
        .values(last_used_at=now)
    )
