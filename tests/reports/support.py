"""Builders for report tests: stored queues and agents, and engine runs written to the database.

A pure engine is driven at chosen instants and what it emitted is stored by the routing
service's own `persist_batch`, so reports read exactly what the runtime would have written.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from app.agents.models import StaffRole
from app.agents.service import create_staff
from app.interactions.counted import CALL_ANSWERED
from app.interactions.models import Interaction, InteractionEvent
from app.queues.models import Queue
from app.routing import commands as c
from app.routing import events as e
from app.routing.engine import Engine
from app.runtime.persistence import BatchItem, NewInteraction, persist_batch
from app.runtime.wire import as_uuid
from app.state import Resources

T0 = datetime(2026, 11, 23, 8, 50, tzinfo=UTC).timestamp()
"""08:50 UTC: ten minutes before the 09:00 interval boundary."""


def resources_of(app: FastAPI) -> Resources:
    """The running app's resources."""
    resources: Resources = app.state.resources
    return resources


async def stored_queue(app: FastAPI, name: str, threshold_s: int) -> str:
    """A queue row (not loaded into the app's engine); returns its routing id."""
    async with resources_of(app).sessions() as session, session.begin():
        queue = Queue(name=name, service_level_threshold_s=threshold_s)
        session.add(queue)
        await session.flush()
        return str(queue.id)


async def stored_agent(app: FastAPI, username: str) -> str:
    """An agent's staff row; returns its routing id."""
    async with resources_of(app).sessions() as session, session.begin():
        staff = await create_staff(
            session,
            username=username,
            password="test-password-1",
            role=StaffRole.AGENT,
            display_name=username.capitalize(),
        )
        return str(staff.id)


class RecordingEngine(Engine):
    """An engine that keeps every command it applied with the events that came of it."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[c.Command, list[e.Event]]] = []

    def apply(self, command: c.Command, now: float) -> list[e.Event]:
        """Apply as the engine does, and remember it."""
        events = super().apply(command, now)
        self.log.append((command, events))
        return events


def batch_item(command: c.Command, events: list[e.Event], topics: dict[str, str]) -> BatchItem:
    """What the routing service would persist for one applied command."""
    new = None
    if isinstance(command, c.Arrive):
        new = NewInteraction(
            id=uuid.UUID(command.interaction_id),
            channel=command.channel,
            queue_id=as_uuid(command.queue_id),
            topic=topics.get(command.interaction_id),
        )
    return BatchItem(events=events, new_interaction=new)


async def store_log(
    app: FastAPI, engine: RecordingEngine, topics: dict[str, str] | None = None
) -> None:
    """Persist everything `engine` has done and not yet stored, in one transaction."""
    items = [batch_item(command, events, topics or {}) for command, events in engine.log]
    engine.log.clear()
    async with resources_of(app).sessions() as session, session.begin():
        await persist_batch(session, engine, items)


class StoredRun:
    """Drives a `RecordingEngine` at instants after `T0`, storing each command as it goes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.engine = RecordingEngine()

    async def do(self, at_s: float, command: c.Command) -> list[e.Event]:
        """Apply `command` at `T0 + at_s` and store the outcome, as the one writer does."""
        events = self.engine.apply(command, T0 + at_s)
        await store_log(self.app, self.engine)
        return events


async def set_columns(app: FastAPI, interaction_id: str, **values: Any) -> None:
    """Set columns of a stored interaction (satisfaction, first response) directly."""
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(Interaction).where(Interaction.id == uuid.UUID(interaction_id)).values(**values)
        )


def at(offset_s: float) -> datetime:
    """`T0 + offset_s` as an aware UTC datetime."""
    return datetime.fromtimestamp(T0 + offset_s, UTC)


async def call_answered(
    app: FastAPI, interaction_id: str, at_s: float, *, queue_id: str, agent_id: str, wait_s: float
) -> None:
    """Store a `call.answered` at `T0 + at_s`, as the calls service writes it when a voice or
    video call connects: with the queue, the agent and the wait until then."""
    async with resources_of(app).sessions() as session, session.begin():
        session.add(
            InteractionEvent(
                interaction_id=uuid.UUID(interaction_id),
                type=CALL_ANSWERED,
                at=at(at_s),
                actor_kind="agent",
                actor_id=agent_id,
                data={"queue_id": queue_id, "agent_id": agent_id, "wait_s": wait_s},
            )
        )
