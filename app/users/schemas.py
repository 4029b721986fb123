"""Request and response bodies of the users API (staff accounts of every role)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.agents.models import StaffRole
from app.agents.schemas import Password, Username
from app.api.fields import Email, Name, not_null


class UserCreate(BaseModel):
    """A new staff account; agents made here start with no skills and default capacity."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "sam.supervisor",
                    "password": "correct-horse-battery",
                    "display_name": "Sam Supervisor",
                    "email": "sam@esd.example.gov",
                    "role": "supervisor",
                }
            ]
        },
    )

    username: Username
    password: Password
    role: StaffRole
    display_name: Name | None = Field(default=None, description="Defaults to the username")
    email: Email | None = None


class UserUpdate(BaseModel):
    """Fields to change. Admins cannot change their own role."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "supervisor"}]}
    )

    display_name: Name | None = None
    email: Email | None = Field(default=None, description="null removes the address")
    role: StaffRole | None = None

    _not_null = field_validator("display_name", "role")(not_null)


class PasswordSet(BaseModel):
    """A new password for a staff account."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "new-horse-battery"}]}
    )

    password: Password


class UserRead(BaseModel):
    """A staff account as stored (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    role: StaffRole
    active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
