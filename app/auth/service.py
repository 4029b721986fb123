"""Sign-in rules: log-in with throttling, refresh-token rotation with reuse detection, API keys.

Services flush and never commit; the route's unit of work commits.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Staff
from app.api.pagination import PageParams
from app.auth import repository
from app.auth.api_keys import NewApiKey, generate_api_key
from app.auth.errors import (
    ApiKeyExpiryError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RefreshTokenReusedError,
    TooManyAttemptsError,
)
from app.auth.models import ApiKey, RefreshToken
from app.auth.passwords import hash_password, verify_password
from app.auth.principals import Role
from app.auth.rate_limit import LoginThrottle
from app.auth.tokens import (
    REFRESH_TOKEN_TTL_S,
    IssuedToken,
    hash_refresh_token,
    issue_staff_token,
    new_refresh_token,
)
from app.db.base import new_id
from app.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a log-in or a refresh hands back: an access token and the next refresh token."""

    staff: Staff
    access: IssuedToken
    refresh_token: str
    refresh_token_id: uuid.UUID
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A stored key and its plaintext, which exists only until the response is sent."""

    row: ApiKey
    plaintext: str


async def log_in(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str,
    throttle: LoginThrottle,
    secret_key: str,
    now: datetime,
) -> SignedIn:
    """Check a password and sign the member of staff in, or refuse (401) or throttle (429)."""
    username = username.strip().lower()
    now_s = now.timestamp()
    retry_after_s = await throttle.retry_after_s(username=username, address=address, now=now_s)
    if retry_after_s > 0:
        raise TooManyAttemptsError(retry_after_s)
    # Counted before the slow check, so that parallel guesses cannot slip past the limit.
    await throttle.record_attempt(username=username, address=address, now=now_s)
    staff = await repository.get_staff_by_username(session, username)
    if not await _password_matches(staff, password) or staff is None or not staff.active:
        await throttle.record_failure(username=username, address=address, now=now_s)
        raise InvalidCredentialsError()
    await throttle.record_success(username=username, address=address)
    staff.last_login_at = now
    return await _sign_in(session, staff, family_id=new_id(), secret_key=secret_key, now=now)


async def refresh(
    session: AsyncSession, *, refresh_token: str, secret_key: str, now: datetime
) -> SignedIn:
    """Exchange a live refresh token for new tokens; a replayed one ends its whole sign-in.

    On `RefreshTokenReusedError` the revocation has been flushed: the caller must commit it
    even though the request fails.
    """
    token = await repository.get_refresh_token(session, hash_refresh_token(refresh_token))
    if token is None:
        raise InvalidRefreshTokenError()
    if token.replaced_by is not None:
        # Only a copy can be presented after rotation: the holder or a thief, we cannot tell.
        await repository.revoke_refresh_token_family(session, token.family_id, now=now)
        raise RefreshTokenReusedError()
    if token.revoked_at is not None or token.expires_at <= now:
        raise InvalidRefreshTokenError()
    staff = await repository.get_staff(session, token.staff_id)
    if staff is None or not staff.active:
        raise InvalidRefreshTokenError()
    signed_in = await _sign_in(
        session, staff, family_id=token.family_id, secret_key=secret_key, now=now
    )
    replaced = await repository.mark_refresh_token_replaced(
        session, token.id, replaced_by=signed_in.refresh_token_id, now=now
    )
    if not replaced:
        # Another request rotated this token a moment ago: two holders of one token.
        await repository.revoke_refresh_token_family(session, token.family_id, now=now)
        raise RefreshTokenReusedError()
    return signed_in


async def log_out(session: AsyncSession, *, refresh_token: str, now: datetime) -> None:
    """End the sign-in a refresh token belongs to (all its tokens); an unknown one is ignored."""
    token = await repository.get_refresh_token(session, hash_refresh_token(refresh_token))
    if token is None:
        return
    await repository.revoke_refresh_token_family(session, token.family_id, now=now)


async def end_all_sign_ins(session: AsyncSession, *, staff_id: uuid.UUID, now: datetime) -> None:
    """Revoke every refresh token of a member of staff (password reset, deactivation)."""
    await repository.revoke_staff_refresh_tokens(session, staff_id, now=now)


async def create_api_key(
    session: AsyncSession,
    *,
    name: str,
    expires_at: datetime | None,
    created_by: uuid.UUID | None,
    now: datetime,
) -> CreatedApiKey:
    """Make an integrator key; its plaintext is returned once and never stored."""
    if expires_at is not None and expires_at <= now:
        raise ApiKeyExpiryError()
    new_key: NewApiKey = generate_api_key()
    row = ApiKey(
        name=name,
        prefix=new_key.prefix,
        key_hash=new_key.key_hash,
        role=Role.INTEGRATOR.value,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
    )
    await repository.add_api_key(session, row)
    return CreatedApiKey(row=row, plaintext=new_key.plaintext)


async def get_api_key(session: AsyncSession, *, key_id: uuid.UUID) -> ApiKey:
    """The API key with this id, or 404."""
    key = await repository.get_api_key(session, key_id)
    if key is None:
        raise NotFoundError(f"No API key has the id {key_id}.")
    return key


async def list_api_keys(session: AsyncSession, *, params: PageParams) -> list[ApiKey]:
    """One page of API keys, newest first, with one extra row if more follow."""
    return await repository.list_api_keys(session, params)


async def revoke_api_key(session: AsyncSession, *, key_id: uuid.UUID, now: datetime) -> ApiKey:
    """Stop a key working at once; revoking it again keeps the first revocation time."""
    key = await get_api_key(session, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def _sign_in(
    session: AsyncSession, staff: Staff, *, family_id: uuid.UUID, secret_key: str, now: datetime
) -> SignedIn:
    plaintext = new_refresh_token()
    expires_at = now + timedelta(seconds=REFRESH_TOKEN_TTL_S)
    row = RefreshToken(
        id=new_id(),
        staff_id=staff.id,
        family_id=family_id,
        token_hash=hash_refresh_token(plaintext),
        created_at=now,
        expires_at=expires_at,
    )
    await repository.add_refresh_token(session, row)
    access = issue_staff_token(
        secret_key,
        staff_id=str(staff.id),
        role=Role(staff.role.value),
        name=staff.display_name,
        now=now.timestamp(),
    )
    return SignedIn(
        staff=staff,
        access=access,
        refresh_token=plaintext,
        refresh_token_id=row.id,
        refresh_expires_at=expires_at,
    )


async def _password_matches(staff: Staff | None, password: str) -> bool:
    # An unknown username still costs one argon2 verification, so timing does not tell.
    # Argon2 takes tens of milliseconds of CPU: off the event loop, other requests go on.
    if staff is None:
        return await asyncio.to_thread(_check_decoy, password)
    return await asyncio.to_thread(verify_password, staff.password_hash, password)


def _check_decoy(password: str) -> bool:
    verify_password(_decoy_hash(), password)
    return False


@cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
