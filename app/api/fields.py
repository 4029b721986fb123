"""Field types and checks shared by the configuration API's schemas and services."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field

from app.errors import AppError

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ValueT = TypeVar("ValueT")


class InvalidFieldsError(AppError):
    """Fields that are well formed but wrong in context (an unknown skill, a missing queue)."""

    status = 422
    code = "validation_failed"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[dict[str, str]]) -> None:
        fields = ", ".join(error["field"] for error in errors)
        super().__init__(f"Check these fields: {fields}", errors=errors)


def field_path(*parts: str | int) -> str:
    """A field location written as the validation errors write theirs (`body.skills.0.skill`)."""
    return ".".join(str(part) for part in parts)


def _trim_lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_slug(value: str) -> str:
    if not SLUG_PATTERN.match(value):
        raise ValueError(
            "use lower-case letters and digits, words joined by '_' or '-' (e.g. paid_leave)"
        )
    return value


def _check_email(value: str) -> str:
    if not EMAIL_PATTERN.match(value):
        raise ValueError("not an email address")
    return value


def not_null(value: ValueT | None) -> ValueT:
    """Refuse an explicit null for a field a PATCH may leave out but never clear."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value


Slug = Annotated[
    str,
    BeforeValidator(_trim_lower),
    Field(min_length=1, max_length=64),
    AfterValidator(_check_slug),
]
"""A lower-case identifier such as `spanish` or `paid_leave` (input is trimmed and lowered)."""

Email = Annotated[
    str, BeforeValidator(_trim), Field(min_length=3, max_length=320), AfterValidator(_check_email)
]
"""An email address, checked for shape only."""

Name = Annotated[str, BeforeValidator(_trim), Field(min_length=1, max_length=200)]
"""A human-readable name or label, trimmed."""

Description = Annotated[str, Field(max_length=2000)]
"""Free text shown beside a name."""
