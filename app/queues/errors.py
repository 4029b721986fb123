"""Failures of the queues domain."""

from __future__ import annotations

from app.errors import ConflictError, NotFoundError


class QueueNotFoundError(NotFoundError):
    """No queue has this id."""

    def __init__(self) -> None:
        super().__init__("No queue has this id.")


class QueueNameTakenError(ConflictError):
    """Another queue already has this name."""

    code = "queue_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A queue named '{name}' already exists.",
            errors=[{"field": "body.name", "message": "already taken"}],
        )
