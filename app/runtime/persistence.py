"""Writes one batch of the engine's results to the database, in the writer's transaction.

Each touched interaction's routing fields are copied from the engine's own view after the
batch (state, queue, agent, order keys), so recovery restores exactly what the engine had;
stage timestamps and the history come from the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import to_datetime
from app.interactions.models import IdempotencyKey, Interaction, InteractionEvent
from app.routing import events as e
from app.routing.engine import Engine
from app.routing.model import Channel, InteractionId, InteractionState
from app.runtime.models import AgentPresence
from app.runtime.wire import INTERACTION_CREATED, event_data, event_type, interaction_id_of

_FINAL_STATES: dict[type[e.Event], InteractionState] = {
    e.InteractionCompleted: InteractionState.COMPLETED,
    e.InteractionAbandoned: InteractionState.ABANDONED,
    e.InteractionCancelled: InteractionState.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The caller's retry key for a creation, and the hash of the request it came with."""

    principal_id: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class NewInteraction:
    """What the edge knows of a new interaction beyond routing; stored with its arrival."""

    id: uuid.UUID
    channel: Channel
    queue_id: uuid.UUID | None
    required_skills: list[dict[str, Any]] = field(default_factory=list)
    priority: int = 0
    external_id: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_contact: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    topic: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    idempotency: IdempotencyRecord | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored and published: its id, public type, time and JSON data."""

    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    interaction_id: str | None = None
    agent_id: str | None = None


@dataclass(slots=True)
class BatchItem:
    """One command's outcome in a batch: its events, and a new row to insert if any."""

    events: list[e.Event]
    new_interaction: NewInteraction | None = None
    response: dict[str, Any] | None = None


async def persist_batch(
    session: AsyncSession, engine: Engine, items: Sequence[BatchItem]
) -> list[StoredEvent]:
    """Store everything the batch did; returns the events to publish after commit."""
    stored: list[StoredEvent] = []
    created = _insert_new_interactions(session, items, stored)
    await session.flush()
    all_events = [event for item in items for event in item.events]
    await _update_interactions(session, engine, all_events, created)
    for event in all_events:
        stored.append(_stored(event))
        await _record_presence(session, event)
    _append_history(session, stored)
    _record_idempotency(session, items)
    return stored


def _insert_new_interactions(
    session: AsyncSession, items: Sequence[BatchItem], stored: list[StoredEvent]
) -> set[uuid.UUID]:
    created: set[uuid.UUID] = set()
    for item in items:
        new = item.new_interaction
        if new is None or any(isinstance(event, e.InteractionRefused) for event in item.events):
            continue
        arrival = next((event.at for event in item.events), None)
        if arrival is None:
            continue
        session.add(_row(new, to_datetime(arrival)))
        created.add(new.id)
        stored.append(
            StoredEvent(
                id=uuid.uuid4(),
                type=INTERACTION_CREATED,
                occurred_at=to_datetime(arrival),
                data={"interaction_id": str(new.id), "channel": new.channel.value},
                interaction_id=str(new.id),
            )
        )
    return created


def _row(new: NewInteraction, created_at: datetime) -> Interaction:
    return Interaction(
        id=new.id,
        channel=new.channel,
        state=InteractionState.QUEUED,
        queue_id=new.queue_id,
        required_skills=new.required_skills,
        priority=new.priority,
        external_id=new.external_id,
        customer_id=new.customer_id,
        customer_name=new.customer_name,
        customer_contact=new.customer_contact,
        language=new.language,
        topic=new.topic,
        attributes=new.attributes,
        created_at=created_at,
    )


async def _update_interactions(
    session: AsyncSession, engine: Engine, events: Iterable[e.Event], created: set[uuid.UUID]
) -> None:
    by_interaction: dict[uuid.UUID, list[e.Event]] = {}
    for event in events:
        text = interaction_id_of(event)
        if text is not None and not isinstance(event, e.InteractionRefused):
            by_interaction.setdefault(uuid.UUID(text), []).append(event)
    if not by_interaction:
        return
    rows = await session.scalars(
        select(Interaction).where(Interaction.id.in_(list(by_interaction)))
    )
    for row in rows:
        for event in by_interaction[row.id]:
            _apply_timestamps(row, event)
        _copy_engine_view(row, engine)


def _apply_timestamps(row: Interaction, event: e.Event) -> None:
    at = to_datetime(event.at)
    if isinstance(event, e.InteractionQueued) and row.queued_at is None:
        row.queued_at = to_datetime(event.queued_at)
    elif isinstance(event, e.InteractionOffered):
        row.offered_at = at
    elif isinstance(event, e.OfferAccepted) and row.answered_at is None:
        # The first answer counts for wait and service level, even after a transfer.
        row.answered_at = at
    elif isinstance(event, e.WrapUpStarted):
        row.wrap_up_at = at
    elif isinstance(event, e.InteractionAbandoned):
        row.abandoned_at = at
    final = _FINAL_STATES.get(type(event))
    if final is not None:
        row.state = final
        row.ended_at = at


def _copy_engine_view(row: Interaction, engine: Engine) -> None:
    view = engine.interaction(InteractionId(str(row.id)))
    if view is None:
        return
    row.state = view.state
    row.queue_id = _uuid_or_none(view.queue_id)
    row.agent_id = _uuid_or_none(view.agent_id)
    row.priority = view.priority
    row.queue_seq = view.seq
    row.escalation_tier = view.tier
    row.entered_queue_at = to_datetime(view.entered_queue_at)
    row.target_agent_id = _uuid_or_none(view.target_agent_id)


def _uuid_or_none(text: str | None) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        # Implicit skill queues have engine-made ids; the row keeps its required skills.
        return None


def _stored(event: e.Event) -> StoredEvent:
    return StoredEvent(
        id=uuid.uuid4(),
        type=event_type(event),
        occurred_at=to_datetime(event.at),
        data=event_data(event),
        interaction_id=interaction_id_of(event),
        agent_id=getattr(event, "agent_id", None),
    )


async def _record_presence(session: AsyncSession, event: e.Event) -> None:
    if not isinstance(event, e.AgentStateChanged):
        return
    staff_id = _uuid_or_none(event.agent_id)
    if staff_id is None:
        return
    presence = await session.get(AgentPresence, staff_id)
    if presence is None:
        presence = AgentPresence(staff_id=staff_id, state=event.state)
        session.add(presence)
    presence.state = event.state
    presence.reason = event.reason
    presence.changed_at = to_datetime(event.at)


def _append_history(session: AsyncSession, stored: Sequence[StoredEvent]) -> None:
    for event in stored:
        if event.interaction_id is None or event.type == "interaction.refused":
            continue
        session.add(
            InteractionEvent(
                interaction_id=uuid.UUID(event.interaction_id),
                type=event.type,
                at=event.occurred_at,
                actor_kind="agent" if event.agent_id else "system",
                actor_id=event.agent_id,
                data=event.data,
            )
        )


def _record_idempotency(session: AsyncSession, items: Sequence[BatchItem]) -> None:
    for item in items:
        new = item.new_interaction
        if new is None or new.idempotency is None or item.response is None:
            continue
        if any(isinstance(event, e.InteractionRefused) for event in item.events):
            continue
        session.add(
            IdempotencyKey(
                principal_id=new.idempotency.principal_id,
                key=new.idempotency.key,
                request_hash=new.idempotency.request_hash,
                interaction_id=new.id,
                status_code=201,
                response=item.response,
            )
        )
