"""Route dependencies that say who may call: `CurrentPrincipal` and `require_roles(...)`.

Staff and claimants send `Authorization: Bearer <token>`; integrators send their API key as
`Authorization: Bearer sb_…` or `X-API-Key: sb_…`. `LoginThrottleDep` is the process's
log-in throttle.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import repository
from app.auth.api_keys import KEY_SCHEME, api_key_principal, find_api_key
from app.auth.errors import AuthenticationError, PermissionDeniedError
from app.auth.principals import Principal, Role
from app.auth.rate_limit import LoginThrottle
from app.auth.tokens import InvalidTokenError, decode_token
from app.state import Resources, ResourcesDep

logger = logging.getLogger(__name__)
# How stale `last_used_at` may get: one write per key per minute at most, not one per call.
API_KEY_TOUCH_EVERY_S = 60.0


async def get_principal(request: Request, resources: ResourcesDep) -> Principal:
    """The authenticated caller, or a 401 problem."""
    credential = _credential(request)
    if credential is None:
        raise AuthenticationError("Send a bearer token or an API key.")
    if credential.startswith(KEY_SCHEME + "_"):
        return await _authenticate_api_key(resources, credential)
    try:
        return decode_token(resources.secret_key, credential, now=clock.now_s())
    except InvalidTokenError as exc:
        raise AuthenticationError(f"The token is not valid: {exc}.") from None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only `roles` (403 for anyone else who is signed in)."""
    admitted = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in admitted:
            allowed = ", ".join(sorted(role.value for role in admitted))
            raise PermissionDeniedError(
                f"This needs one of these roles: {allowed}; you are {principal.role.value}."
            )
        return principal

    return check


async def get_login_throttle(resources: ResourcesDep) -> LoginThrottle:
    """This process's log-in throttle (in memory; shared through Redis with scale-out)."""
    return resources.login_throttle


LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]


async def _authenticate_api_key(resources: Resources, credential: str) -> Principal:
    now = clock.utcnow()
    verified = resources.verified_keys.get(credential, now=now)
    if verified is not None:
        return verified
    # Every integrator call comes here: an autocommit session saves two round trips.
    async with resources.read_sessions() as session:
        key = await find_api_key(session, credential, now=now)
        if key is None:
            raise AuthenticationError("The API key is unknown, revoked or expired.")
        principal = api_key_principal(key)
        resources.verified_keys.put(credential, key, now=now)
        last_used_at = key.last_used_at
        if last_used_at is None or (now - last_used_at).total_seconds() >= API_KEY_TOUCH_EVERY_S:
            await _touch_api_key(session, key.id, now=now)
    return principal


async def _touch_api_key(session: AsyncSession, key_id: uuid.UUID, *, now: datetime) -> None:
    try:
        await repository.touch_api_key(session, key_id, now=now, every_s=API_KEY_TOUCH_EVERY_S)
        await session.commit()
    except SQLAlchemyError:
        # `last_used_at` is a hint for admins; a busy database must not refuse the call.
        logger.warning("could not record the use of API key %s", key_id, exc_info=True)
        await session.rollback()


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = request.headers.get("x-api-key", "").strip()
    return api_key or None
