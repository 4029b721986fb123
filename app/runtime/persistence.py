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
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Insert,
    Table,
    Update,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.clock import to_datetime
from app.db.base import Base
from app.interactions.models import IdempotencyKey, Interaction, InteractionEvent
from app.routing import events as e
from app.routing.engine import Engine
from app.routing.model import Channel, InteractionId, InteractionState
from app.runtime.models import AgentPresence, AppliedRequest
from app.runtime.wire import (
    INTERACTION_CREATED,
    agent_id_of,
    as_uuid,
    event_data,
    event_type,
    interaction_id_of,
    parse_uuid,
)

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
    # Set for requests that may be re-delivered: the result is kept to answer a repeat.
    request_id: str | None = None


async def persist_batch(
    session: AsyncSession, engine: Engine, items: Sequence[BatchItem]
) -> list[StoredEvent]:
    """Store everything the batch did in a few bulk statements; returns what to publish."""
    events = [event for item in items for event in item.events]
    by_interaction = _group_by_interaction(events)
    stored: list[StoredEvent] = []
    new_rows = _new_rows(items, engine, by_interaction, stored)
    # Core statements on the session's connection: the ORM's bulk paths cost the writer
    # more than the statements themselves (each row is checked against the mapping).
    connection = await session.connection()
    if new_rows:
        await connection.execute(_INSERT_INTERACTIONS, new_rows)
    created = {row["id"] for row in new_rows}
    changed_rows = _changed_rows(engine, by_interaction, created)
    if changed_rows:
        await connection.execute(_UPDATE_CHANGED, changed_rows)
    stored.extend(_stored(event) for event in events)
    await _record_presence(session, events)
    history = _history_rows(stored)
    if history:
        await connection.execute(_INSERT_HISTORY, history)
    keys = _idempotency_rows(items)
    if keys:
        await connection.execute(_INSERT_IDEMPOTENCY_KEYS, keys)
    applied = _applied_rows(items)
    if applied:
        await connection.execute(_INSERT_APPLIED_REQUESTS, applied)
    return stored


def request_result(events: Sequence[e.Event], response: dict[str, Any] | None) -> dict[str, Any]:
    """What a caller is answered for an applied request; kept to answer a repeat the same."""
    return {"response": response, "refused": refusal_reason(events)}


def refusal_reason(events: Sequence[e.Event]) -> str | None:
    """Why the engine refused a new interaction, if it did."""
    for event in events:
        if isinstance(event, e.InteractionRefused):
            return event.reason
    return None


async def applied_results(session: AsyncSession, request_ids: Sequence[str]) -> dict[str, Any]:
    """The stored results of those of `request_ids` already applied, by id."""
    if not request_ids:
        return {}
    rows = await session.execute(
        select(AppliedRequest.id, AppliedRequest.result).where(AppliedRequest.id.in_(request_ids))
    )
    return {row.id: row.result for row in rows}


async def stored_idempotency_keys(
    session: AsyncSession, records: Sequence[IdempotencyRecord]
) -> dict[tuple[str, str], IdempotencyKey]:
    """Idempotency keys among `records` that an earlier request already used."""
    if not records:
        return {}
    found = await session.scalars(
        select(IdempotencyKey).where(
            tuple_(IdempotencyKey.principal_id, IdempotencyKey.key).in_(
                [(record.principal_id, record.key) for record in records]
            )
        )
    )
    return {(row.principal_id, row.key): row for row in found}


async def forget_applied_requests(session: AsyncSession, older_than: datetime) -> int:
    """Drop results kept for repeats once no repeat can come; returns how many."""
    result = await session.execute(
        delete(AppliedRequest).where(AppliedRequest.applied_at < older_than)
    )
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _group_by_interaction(events: Iterable[e.Event]) -> dict[uuid.UUID, list[e.Event]]:
    grouped: dict[uuid.UUID, list[e.Event]] = {}
    for event in events:
        text = interaction_id_of(event)
        if text is not None and not isinstance(event, e.InteractionRefused):
            grouped.setdefault(parse_uuid(text), []).append(event)
    return grouped


def _new_rows(
    items: Sequence[BatchItem],
    engine: Engine,
    by_interaction: dict[uuid.UUID, list[e.Event]],
    stored: list[StoredEvent],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in items:
        new = item.new_interaction
        if new is None or _refused(item.events) or not item.events:
            continue
        created_at = to_datetime(item.events[0].at)
        row = _blank_row(new, created_at)
        row.update(_changes(engine, new.id, by_interaction.get(new.id, [])))
        rows.append(row)
        stored.append(
            StoredEvent(
                id=uuid.uuid4(),
                type=INTERACTION_CREATED,
                occurred_at=created_at,
                data={"interaction_id": str(new.id), "channel": new.channel.value},
                interaction_id=str(new.id),
            )
        )
    return rows


def _refused(events: Sequence[e.Event]) -> bool:
    return refusal_reason(events) is not None


def _applied_rows(items: Sequence[BatchItem]) -> list[dict[str, Any]]:
    now = clock.utcnow()
    return [
        {
            "id": item.request_id,
            "result": request_result(item.events, item.response),
            "applied_at": now,
        }
        for item in items
        if item.request_id is not None
    ]


def _blank_row(new: NewInteraction, created_at: datetime) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_TIMESTAMPS)
    row.update(
        id=new.id,
        channel=new.channel,
        state=InteractionState.QUEUED,
        queue_id=new.queue_id,
        required_skills=new.required_skills,
        priority=new.priority,
        queue_seq=None,
        escalation_tier=0,
        entered_queue_at=None,
        target_agent_id=None,
        target_until=None,
        agent_id=None,
        external_id=new.external_id,
        customer_id=new.customer_id,
        customer_name=new.customer_name,
        customer_contact=new.customer_contact,
        language=new.language,
        topic=new.topic,
        attributes=new.attributes,
        created_at=created_at,
        updated_at=created_at,
        first_response_at=None,
    )
    return row


# Stage timestamps an event can set; queued_at and answered_at keep their first value.
_TIMESTAMPS = ("queued_at", "offered_at", "answered_at", "wrap_up_at", "abandoned_at", "ended_at")
_FIRST_ONLY = frozenset({"queued_at", "answered_at"})


def _changes(
    engine: Engine, interaction_id: uuid.UUID, events: Sequence[e.Event]
) -> dict[str, Any]:
    """Column values after the batch: stage timestamps from events, routing from the engine."""
    changes: dict[str, Any] = {}
    for event in events:
        for column, at in _stamps(event):
            if column in _FIRST_ONLY and column in changes:
                continue
            changes[column] = to_datetime(at)
    view = engine.interaction(InteractionId(str(interaction_id)))
    if view is None:
        final = next((_FINAL_STATES[type(ev)] for ev in events if type(ev) in _FINAL_STATES), None)
        if final is not None:
            changes["state"] = final
        return changes
    changes.update(
        state=view.state,
        queue_id=as_uuid(view.queue_id),
        agent_id=as_uuid(view.agent_id),
        priority=view.priority,
        queue_seq=view.seq,
        escalation_tier=view.tier,
        entered_queue_at=to_datetime(view.entered_queue_at),
        target_agent_id=as_uuid(view.target_agent_id),
        target_until=None if view.target_until is None else to_datetime(view.target_until),
    )
    return changes


def _stamps(event: e.Event) -> list[tuple[str, float]]:
    if isinstance(event, e.InteractionQueued):
        return [("queued_at", event.queued_at)]
    if isinstance(event, e.InteractionOffered):
        return [("offered_at", event.at)]
    if isinstance(event, e.OfferAccepted):
        # The first answer counts for wait and service level, even after a transfer.
        return [("answered_at", event.at)]
    if isinstance(event, e.WrapUpStarted):
        return [("wrap_up_at", event.at)]
    if isinstance(event, e.InteractionAbandoned):
        return [("abandoned_at", event.at), ("ended_at", event.at)]
    if type(event) in _FINAL_STATES:
        return [("ended_at", event.at)]
    return []


def _changed_rows(
    engine: Engine, by_interaction: dict[uuid.UUID, list[e.Event]], created: set[uuid.UUID]
) -> list[dict[str, Any]]:
    """Parameters of the UPDATE of each changed row, open or ended."""
    rows: list[dict[str, Any]] = []
    updated_at = clock.utcnow()
    for interaction_id, events in by_interaction.items():
        if interaction_id in created:
            continue
        changes = _changes(engine, interaction_id, events)
        if "state" not in changes:
            continue
        params = {f"b_{column}": changes.get(column) for column in _TIMESTAMPS}
        params.update(b_id=interaction_id, b_state=changes["state"], b_updated_at=updated_at)
        # An ended interaction is gone from the engine: its row keeps its last routing.
        params["b_routing"] = "queue_seq" in changes
        for column in _ROUTING:
            params[f"b_{column}"] = changes.get(column)
        rows.append(params)
    return rows


_ROUTING = (
    "queue_id",
    "agent_id",
    "priority",
    "queue_seq",
    "escalation_tier",
    "entered_queue_at",
    "target_agent_id",
    "target_until",
)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _update_statement() -> Update:
    table = _table(Interaction)
    columns = table.c

    def param(column: str) -> Any:
        return bindparam(f"b_{column}", type_=columns[column].type)

    values: dict[str, Any] = {"state": param("state"), "updated_at": param("updated_at")}
    for column in _TIMESTAMPS:
        # A value this batch did not set must not erase the stored one.
        first, second = (
            (columns[column], param(column))
            if column in _FIRST_ONLY
            else (param(column), columns[column])
        )
        values[column] = func.coalesce(first, second)
    # One statement for open and ended rows alike (one trip to the database, not two).
    with_routing = bindparam("b_routing", type_=Boolean)
    for column in _ROUTING:
        values[column] = case((with_routing, param(column)), else_=columns[column])
    return (
        update(table).where(columns.id == bindparam("b_id", type_=columns.id.type)).values(values)
    )


_UPDATE_CHANGED = _update_statement()


def _insert_into(model: type[Base]) -> Insert:
    return insert(_table(model))


_INSERT_INTERACTIONS = _insert_into(Interaction)
_INSERT_HISTORY = _insert_into(InteractionEvent)
_INSERT_IDEMPOTENCY_KEYS = _insert_into(IdempotencyKey)
_INSERT_APPLIED_REQUESTS = _insert_into(AppliedRequest)


def _stored(event: e.Event) -> StoredEvent:
    return StoredEvent(
        id=uuid.uuid4(),
        type=event_type(event),
        occurred_at=to_datetime(event.at),
        data=event_data(event),
        interaction_id=interaction_id_of(event),
        agent_id=agent_id_of(event),
    )


async def _record_presence(session: AsyncSession, events: Iterable[e.Event]) -> None:
    changed = False
    for event in events:
        if not isinstance(event, e.AgentStateChanged):
            continue
        staff_id = as_uuid(event.agent_id)
        if staff_id is None:
            continue
        presence = await session.get(AgentPresence, staff_id)
        if presence is None:
            presence = AgentPresence(staff_id=staff_id, state=event.state)
            session.add(presence)
        presence.state = event.state
        presence.reason = event.reason
        presence.changed_at = to_datetime(event.at)
        changed = True
    if changed:
        await session.flush()


def _history_rows(stored: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {
            "interaction_id": parse_uuid(event.interaction_id),
            "type": event.type,
            "at": event.occurred_at,
            "actor_kind": "agent" if event.agent_id else "system",
            "actor_id": event.agent_id,
            "data": event.data,
        }
        for event in stored
        if event.interaction_id is not None and event.type != "interaction.refused"
    ]


def _idempotency_rows(items: Sequence[BatchItem]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in items:
        new = item.new_interaction
        if new is None or new.idempotency is None or item.response is None:
            continue
        if _refused(item.events):
            continue
        rows.append(
            {
                "principal_id": new.idempotency.principal_id,
                "key": new.idempotency.key,
                "request_hash": new.idempotency.request_hash,
                "interaction_id": new.id,
                "status_code": 201,
                "response": item.response,
                "created_at": clock.utcnow(),
            }
        )
    return rows
