"""Request and response bodies of the skills API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator

from app.api.fields import Description, Slug, not_null
from app.skills.models import SkillKind


class SkillCreate(BaseModel):
    """A new skill; its name is how queues, agents and integrators refer to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "spanish", "kind": "language", "description": "Spanish"}]
        },
    )

    name: Slug
    kind: SkillKind = SkillKind.OTHER
    description: Description = ""


class SkillUpdate(BaseModel):
    """Fields to change; the name is fixed because stored interactions refer to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"description": "Spanish / Español"}]},
    )

    kind: SkillKind | None = None
    description: Description | None = None

    _not_null = field_validator("kind", "description")(not_null)


class SkillRead(BaseModel):
    """A skill as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: SkillKind
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
