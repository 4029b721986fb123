"""Sign-in endpoints (/auth/...) and integrator API key management (/api-keys)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from app import clock
from app.api.pagination import Page, PageParamsDep, next_cursor
from app.auth import service
from app.auth.dependencies import CurrentPrincipal, LoginThrottleDep, require_roles
from app.auth.errors import RefreshTokenReusedError
from app.auth.principals import Principal, PrincipalKind, Role
from app.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreatedRead,
    ApiKeyRead,
    LoginRequest,
    PrincipalRead,
    RefreshTokenRequest,
    SignedInStaffRead,
    TokenPairRead,
)
from app.db.dependencies import SessionDep
from app.errors import PROBLEM_JSON
from app.state import ResourcesDep

router = APIRouter()

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
UNKNOWN_ADDRESS = "unknown"


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


INVALID_BODY = _problem("The body is not valid; `errors` names each field")
NOT_SIGNED_IN = _problem("No credentials, or credentials that are bad, expired or revoked")
NOT_ADMIN = _problem("Signed in, but not an admin")


@router.post(
    "/auth/login",
    tags=["auth"],
    summary="Sign in with a username and password",
    responses={
        401: _problem("Wrong username or password, or the account is not active"),
        422: INVALID_BODY,
        429: _problem("Too many failed log-ins; `Retry-After` says when to try again"),
    },
)
async def log_in_staff(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
    throttle: LoginThrottleDep,
) -> TokenPairRead:
    """Trade a member of staff's username and password for a 15-minute access token and a
    30-day refresh token. Open to anyone; failed attempts are limited per username and
    address, and more loosely per address."""
    now = clock.utcnow()
    signed_in = await service.log_in(
        session,
        username=body.username,
        password=body.password,
        address=request.client.host if request.client else UNKNOWN_ADDRESS,
        throttle=throttle,
        secret_key=resources.secret_key,
        now=now,
    )
    return _token_pair(signed_in, now_s=now.timestamp())


@router.post(
    "/auth/refresh",
    tags=["auth"],
    summary="Exchange a refresh token for new tokens",
    responses={
        401: _problem("The refresh token is unknown, expired, revoked or was already used"),
        422: INVALID_BODY,
    },
)
async def refresh_tokens(
    body: RefreshTokenRequest, session: SessionDep, resources: ResourcesDep
) -> TokenPairRead:
    """Open to anyone holding a refresh token. Each refresh token works once: the answer
    carries its replacement. Presenting a used one again ends that whole sign-in."""
    now = clock.utcnow()
    try:
        signed_in = await service.refresh(
            session, refresh_token=body.refresh_token, secret_key=resources.secret_key, now=now
        )
    except RefreshTokenReusedError:
        # The request fails, but the revocation it triggered must be kept: that is its point.
        await session.commit()
        raise
    return _token_pair(signed_in, now_s=now.timestamp())


@router.post(
    "/auth/logout",
    tags=["auth"],
    summary="Sign out: revoke a refresh token",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={422: INVALID_BODY},
)
async def log_out_staff(body: RefreshTokenRequest, session: SessionDep) -> Response:
    """Open to anyone holding a refresh token; ends the sign-in it belongs to. Always 204,
    also for a token that is already revoked or unknown. Access tokens already issued
    keep working until they expire (at most 15 minutes)."""
    await service.log_out(session, refresh_token=body.refresh_token, now=clock.utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/auth/me",
    tags=["auth"],
    summary="Who am I",
    responses={401: NOT_SIGNED_IN},
)
async def get_current_principal(principal: CurrentPrincipal) -> PrincipalRead:
    """Any signed-in caller (staff, integrator or claimant): who its credentials say it is."""
    return PrincipalRead(
        kind=principal.kind,
        role=principal.role,
        subject_id=principal.subject_id,
        name=principal.name,
        interaction_id=principal.interaction_id,
    )


@router.post(
    "/api-keys",
    tags=["api-keys"],
    summary="Create an integrator API key",
    status_code=status.HTTP_201_CREATED,
    responses={401: NOT_SIGNED_IN, 403: NOT_ADMIN, 422: INVALID_BODY},
)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, admin: AdminDep
) -> ApiKeyCreatedRead:
    """Admins only. The answer holds the key in plaintext, the only time it is shown;
    only its hash is stored."""
    created = await service.create_api_key(
        session,
        name=body.name,
        expires_at=body.expires_at,
        created_by=_staff_id(admin),
        now=clock.utcnow(),
    )
    read = ApiKeyRead.model_validate(created.row)
    return ApiKeyCreatedRead(**read.model_dump(), key=created.plaintext)


@router.get(
    "/api-keys",
    tags=["api-keys"],
    summary="List API keys",
    responses={400: _problem("The cursor is not valid"), 401: NOT_SIGNED_IN, 403: NOT_ADMIN},
)
async def list_api_keys(
    session: SessionDep, params: PageParamsDep, admin: AdminDep
) -> Page[ApiKeyRead]:
    """Admins only. Newest first, revoked and expired keys included; never a secret."""
    rows = await service.list_api_keys(session, params=params)
    kept, cursor = next_cursor(rows, params)
    return Page[ApiKeyRead](
        items=[ApiKeyRead.model_validate(row) for row in kept], next_cursor=cursor
    )


@router.get(
    "/api-keys/{key_id}",
    tags=["api-keys"],
    summary="Read one API key",
    responses={401: NOT_SIGNED_IN, 403: NOT_ADMIN, 404: _problem("No API key has this id")},
)
async def get_api_key(key_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> ApiKeyRead:
    """Admins only. The key's name, prefix and dates; never its secret."""
    return ApiKeyRead.model_validate(await service.get_api_key(session, key_id=key_id))


@router.post(
    "/api-keys/{key_id}/revoke",
    tags=["api-keys"],
    summary="Revoke an API key",
    responses={401: NOT_SIGNED_IN, 403: NOT_ADMIN, 404: _problem("No API key has this id")},
)
async def revoke_api_key(
    key_id: uuid.UUID, session: SessionDep, resources: ResourcesDep, admin: AdminDep
) -> ApiKeyRead:
    """Admins only. The key is refused from the next request on by this process, and
    within five seconds by every other process of a cluster. Revoking twice is harmless
    and keeps the first `revoked_at`."""
    key = await service.revoke_api_key(session, key_id=key_id, now=clock.utcnow())
    resources.verified_keys.forget(str(key_id))
    return ApiKeyRead.model_validate(key)


def _token_pair(signed_in: service.SignedIn, *, now_s: float) -> TokenPairRead:
    return TokenPairRead(
        access_token=signed_in.access.token,
        expires_in=max(0, int(signed_in.access.expires_at - now_s)),
        refresh_token=signed_in.refresh_token,
        refresh_expires_in=max(0, int(signed_in.refresh_expires_at.timestamp() - now_s)),
        user=SignedInStaffRead.model_validate(signed_in.staff),
    )


def _staff_id(principal: Principal) -> uuid.UUID | None:
    # `created_by` refers to the staff table: only staff are recorded as creators.
    return uuid.UUID(principal.subject_id) if principal.kind is PrincipalKind.STAFF else None
