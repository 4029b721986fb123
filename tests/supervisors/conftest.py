"""Fixtures of the supervisor tests: callers by role and stored routing history."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from app.interactions.models import Interaction, InteractionEvent
from app.routing.model import Channel, InteractionState
from tests.conftest import Caller, CallerFactory
from tests.world import resources_of

EventMaker = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
async def supervisor(staff_caller: CallerFactory) -> Caller:
    """A signed-in supervisor."""
    return await staff_caller(StaffRole.SUPERVISOR)


@pytest.fixture
async def agent_caller(staff_caller: CallerFactory) -> Caller:
    """A signed-in agent (who may not supervise)."""
    return await staff_caller(StaffRole.AGENT)


@pytest.fixture
def stored_event(app: FastAPI) -> EventMaker:
    """``await stored_event(type, queue_id, at, interaction_id=None, channel=CHAT, **data)``:
    one row of routing history as the writer stores it (its interaction row made when new,
    on `channel`)."""

    async def make(
        kind: str,
        queue_id: uuid.UUID,
        at: datetime,
        interaction_id: uuid.UUID | None = None,
        *,
        channel: Channel = Channel.CHAT,
        **data: Any,
    ) -> uuid.UUID:
        async with resources_of(app).sessions() as session, session.begin():
            if interaction_id is None:
                interaction_id = uuid.uuid4()
                session.add(
                    Interaction(
                        id=interaction_id,
                        channel=channel,
                        state=InteractionState.COMPLETED,
                        queue_id=queue_id,
                        created_at=at,
                    )
                )
                await session.flush()
            session.add(
                InteractionEvent(
                    interaction_id=interaction_id,
                    type=kind,
                    at=at,
                    data={"interaction_id": str(interaction_id), "queue_id": str(queue_id), **data},
                )
            )
        return interaction_id

    return make


@pytest.fixture
async def admin_caller(staff_caller: CallerFactory) -> Caller:
    """A signed-in admin."""
    return await staff_caller(StaffRole.ADMIN)
