"""Request and response bodies of the dispositions API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator

from app.api.fields import Description, Name, Slug, not_null


class DispositionCreate(BaseModel):
    """A new wrap-up outcome; the code is what reports and integrators use."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "work_search_reviewed",
                    "label": "Work search reviewed",
                    "description": "The claimant's weekly work search log was checked.",
                }
            ]
        },
    )

    code: Slug
    label: Name
    description: Description = ""


class DispositionUpdate(BaseModel):
    """Fields to change; the code is fixed because recorded outcomes and reports use it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"label": "Work search log reviewed"}]}
    )

    label: Name | None = None
    description: Description | None = None

    _not_null = field_validator("label", "description")(not_null)


class DispositionRead(BaseModel):
    """A disposition as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    label: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
