"""Failures of the dispositions domain."""

from __future__ import annotations

from app.errors import ConflictError, NotFoundError


class DispositionNotFoundError(NotFoundError):
    """No disposition has this id."""

    def __init__(self) -> None:
        super().__init__("No disposition has this id.")


class DispositionCodeTakenError(ConflictError):
    """Another disposition already has this code."""

    code = "disposition_code_taken"

    def __init__(self, disposition_code: str) -> None:
        super().__init__(
            f"A disposition with code '{disposition_code}' already exists.",
            errors=[{"field": "body.code", "message": "already taken"}],
        )
