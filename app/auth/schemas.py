"""Request and response bodies of the log-in, token and API key endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.agents.models import StaffRole
from app.auth.principals import PrincipalKind, Role

# Long enough for any passphrase, short enough that hashing it costs nothing extra.
MAX_PASSWORD_LENGTH = 1024
# 32 random bytes encode to 43 URL-safe characters; leave room, refuse anything huge.
MAX_REFRESH_TOKEN_LENGTH = 200


class LoginRequest(BaseModel):
    """A member of staff signing in."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "maria.lopez", "password": "correct horse"}]}
    )

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class RefreshTokenRequest(BaseModel):
    """A refresh token to exchange (at /refresh) or revoke (at /logout)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"refresh_token": "q3Vb0m1lJb5nYk0dZ1c6oQ2mX9d8Qe7rP4sT6uV8wYz"}]
        }
    )

    refresh_token: Annotated[str, Field(min_length=1, max_length=MAX_REFRESH_TOKEN_LENGTH)]


class SignedInStaffRead(BaseModel):
    """The member of staff a token pair belongs to."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: StaffRole


class TokenPairRead(BaseModel):
    """A short-lived access token and the refresh token that renews it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Opaque; each use replaces it with a new one")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires")
    user: SignedInStaffRead


class PrincipalRead(BaseModel):
    """Who the caller is, as its credentials prove."""

    kind: PrincipalKind
    role: Role
    subject_id: str = Field(description="The staff id, API key id or interaction id")
    name: str
    interaction_id: str | None = Field(
        default=None, description="For a claimant: the one interaction the token reaches"
    )


class ApiKeyCreate(BaseModel):
    """A new integrator API key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "CRM sync", "expires_at": "2027-06-30T00:00:00Z"},
                {"name": "IVR"},
            ]
        }
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working (must be in the future)"
    )


class ApiKeyRead(BaseModel):
    """An API key as listed: never its secret or hash, only the prefix that identifies it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedRead(ApiKeyRead):
    """A key just made: `key` is the only time the plaintext is shown."""

    key: str = Field(description="Send as `X-API-Key` or `Authorization: Bearer`; shown once")
