"""Rules of staff accounts: unique usernames, and no admin locking themselves out."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.agents import repository
from app.agents.models import Staff, StaffRole
from app.agents.service import create_staff, ensure_username_free
from app.auth.passwords import hash_password
from app.auth.service import end_all_sign_ins
from app.users.errors import OwnAccountError, UserNotFoundError
from app.users.schemas import UserCreate, UserUpdate


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> Staff:
    """The staff account with this id, or `UserNotFoundError`."""
    staff = await repository.get_staff(session, user_id)
    if staff is None:
        raise UserNotFoundError()
    return staff


async def create_user(session: AsyncSession, *, data: UserCreate) -> Staff:
    """Add a staff account of any role; flushes."""
    await ensure_username_free(session, username=data.username)
    return await create_staff(
        session,
        username=data.username,
        password=data.password,
        role=data.role,
        display_name=data.display_name,
        email=data.email,
    )


async def update_user(
    session: AsyncSession, *, user_id: uuid.UUID, data: UserUpdate, acting_id: str
) -> tuple[Staff, StaffRole]:
    """Change the fields sent; returns the account and the role it had before. Flushes."""
    staff = await get_user(session, user_id=user_id)
    previous_role = staff.role
    if data.role is not None and data.role is not staff.role:
        if str(staff.id) == acting_id:
            raise OwnAccountError("You cannot change your own role; ask another admin.")
        staff.role = data.role
    if data.display_name is not None:
        staff.display_name = data.display_name
    if "email" in data.model_fields_set:
        staff.email = data.email
    await session.flush()
    return staff, previous_role


async def set_user_active(
    session: AsyncSession, *, user_id: uuid.UUID, active: bool, acting_id: str
) -> Staff:
    """Let a user sign in again, or stop them; nobody may deactivate themselves."""
    staff = await get_user(session, user_id=user_id)
    if not active and str(staff.id) == acting_id:
        raise OwnAccountError("You cannot deactivate your own account; ask another admin.")
    staff.active = active
    if not active:
        await end_all_sign_ins(session, staff_id=staff.id, now=clock.utcnow())
    await session.flush()
    return staff


async def set_password(session: AsyncSession, *, user_id: uuid.UUID, password: str) -> Staff:
    """Replace a user's password (already checked for strength by the schema); flushes."""
    staff = await get_user(session, user_id=user_id)
    staff.password_hash = hash_password(password)
    # Whoever held the old password must not stay signed in through a refresh token.
    await end_all_sign_ins(session, staff_id=staff.id, now=clock.utcnow())
    await session.flush()
    return staff
