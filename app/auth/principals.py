"""Who is calling: a member of staff, an integrator's API key, or the claimant of one chat."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a caller may do; every route declares the roles it admits."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    INTEGRATOR = "integrator"
    CLAIMANT = "claimant"


class PrincipalKind(StrEnum):
    """How the caller proved who it is."""

    STAFF = "staff"
    API_KEY = "api_key"
    CLAIMANT = "claimant"


STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. `subject_id` is the staff id, API key id or interaction id."""

    kind: PrincipalKind
    role: Role
    subject_id: str
    name: str
    # For a claimant: the one interaction this token reaches.
    interaction_id: str | None = None

    def may_read_interaction(self, interaction_id: str) -> bool:
        """A claimant reaches only its own interaction; every other role is checked by route."""
        return self.role is not Role.CLAIMANT or self.interaction_id == interaction_id
