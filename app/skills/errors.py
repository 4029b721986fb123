"""Failures of the skills domain."""

from __future__ import annotations

from app.errors import ConflictError, NotFoundError


class SkillNotFoundError(NotFoundError):
    """No skill has this id."""

    def __init__(self) -> None:
        super().__init__("No skill has this id.")


class SkillNameTakenError(ConflictError):
    """Another skill already has this name."""

    code = "skill_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A skill named '{name}' already exists.",
            errors=[{"field": "body.name", "message": "already taken"}],
        )
