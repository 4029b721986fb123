"""Writing the audit log: every supervisor action and configuration change, who and when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.auth.principals import Principal
from app.logs import current_request_id
from app.supervisors.models import AuditEntry


def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to `session`: it is stored with the change it describes, or not
    at all when that change is rolled back."""
    entry = AuditEntry(
        created_at=clock.utcnow(),
        actor_kind=principal.kind.value,
        actor_id=principal.subject_id,
        actor_name=principal.name,
        actor_role=principal.role.value,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        request_id=current_request_id(),
    )
    session.add(entry)
    return entry


async def record_now(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    *,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Store an audit entry in a transaction of its own (websocket actions have no request)."""
    async with sessions() as session, session.begin():
        record(
            session,
            principal,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
