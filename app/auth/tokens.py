"""Signed bearer tokens (PyJWT, HS256): short-lived staff access tokens and claimant tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt

from app.auth.principals import Principal, PrincipalKind, Role

ALGORITHM = "HS256"
ISSUER = "switchboard"
ACCESS_TOKEN_TTL_S = 15 * 60
CLAIMANT_TOKEN_TTL_S = 12 * 60 * 60
REFRESH_TOKEN_TTL_S = 30 * 24 * 60 * 60
REFRESH_TOKEN_BYTES = 32
# Accept tokens a few seconds "early" or "late" across processes whose clocks differ.
CLOCK_LEEWAY_S = 10


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong kind."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token and when it stops working (epoch seconds)."""

    token: str
    expires_at: float


def issue_staff_token(
    secret: str,
    *,
    staff_id: str,
    role: Role,
    name: str,
    now: float,
    ttl_s: int = ACCESS_TOKEN_TTL_S,
) -> IssuedToken:
    """An access token for a signed-in member of staff."""
    return _issue(secret, subject=staff_id, role=role, name=name, now=now, ttl_s=ttl_s)


def issue_claimant_token(
    secret: str, *, interaction_id: str, name: str, now: float, ttl_s: int = CLAIMANT_TOKEN_TTL_S
) -> IssuedToken:
    """A token that reaches only the claimant's own interaction."""
    return _issue(
        secret, subject=interaction_id, role=Role.CLAIMANT, name=name, now=now, ttl_s=ttl_s
    )


def decode_token(secret: str, token: str, *, now: float) -> Principal:
    """The principal a token speaks for, or `InvalidTokenError`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=CLOCK_LEEWAY_S,
            options={"require": ["exp", "iat", "sub", "role", "iss"], "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from None
    # PyJWT checks expiry against its own clock; check it against ours as well.
    if float(claims["exp"]) + CLOCK_LEEWAY_S < now:
        raise InvalidTokenError("token has expired")
    try:
        role = Role(claims["role"])
    except ValueError:
        raise InvalidTokenError("unknown role") from None
    if role is Role.INTEGRATOR:
        raise InvalidTokenError("integrators authenticate with API keys")
    subject = str(claims["sub"])
    if role is Role.CLAIMANT:
        return Principal(
            kind=PrincipalKind.CLAIMANT,
            role=role,
            subject_id=subject,
            name=str(claims.get("name", "")),
            interaction_id=subject,
        )
    return Principal(
        kind=PrincipalKind.STAFF, role=role, subject_id=subject, name=str(claims.get("name", ""))
    )


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token (SHA-256 is enough for 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(
    secret: str, *, subject: str, role: Role, name: str, now: float, ttl_s: int
) -> IssuedToken:
    expires_at = now + ttl_s
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "name": name,
        "iat": int(now),
        "exp": int(expires_at),
        "jti": uuid.uuid4().hex,
    }
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), float(int(expires_at)))
