"""Failures of the agents and staff domain."""

from __future__ import annotations

from app.errors import ConflictError, NotFoundError


class AgentNotFoundError(NotFoundError):
    """No agent has this id (other staff are not agents)."""

    def __init__(self) -> None:
        super().__init__("No agent has this id.")


class UsernameTakenError(ConflictError):
    """Another staff account already has this username."""

    code = "username_taken"

    def __init__(self, username: str) -> None:
        super().__init__(
            f"A user named '{username}' already exists.",
            errors=[{"field": "body.username", "message": "already taken"}],
        )
