"""Failures of the users (staff accounts) domain."""

from __future__ import annotations

from app.errors import ConflictError, NotFoundError


class UserNotFoundError(NotFoundError):
    """No staff account has this id."""

    def __init__(self) -> None:
        super().__init__("No user has this id.")


class OwnAccountError(ConflictError):
    """An admin tried to lock themselves out (deactivate themselves or drop their own role)."""

    code = "own_account"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
