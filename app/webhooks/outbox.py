"""The outbox write: events become webhook deliveries in the caller's own transaction.

The routing service calls `enqueue_deliveries` inside the transaction that stores the
events, so an event and the deliveries it owes commit (or roll back) together; the
dispatcher sends them later. It costs one small SELECT per batch, and an INSERT only when
some active subscription wants one of the events.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.webhooks import repository
from app.webhooks.models import DeliveryStatus


@dataclass(frozen=True)
class OutboundEvent:
    """One event to announce; `data` is JSON-ready (UUIDs, datetimes and enums are converted)."""

    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]


def event_payload(event: OutboundEvent) -> dict[str, Any]:
    """The JSON body receivers get: `{"id", "type", "occurred_at", "data"}`."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        # A round trip turns UUIDs, datetimes and enums into JSON now, not at commit time.
        "data": json.loads(json.dumps(event.data, default=_to_json)),
    }


def delivery_row(
    subscription_id: uuid.UUID, event: OutboundEvent, *, now: datetime
) -> dict[str, Any]:
    """The outbox row owed to one subscription for one event, due at once."""
    return {
        "subscription_id": subscription_id,
        "event_id": event.id,
        "event_type": event.type,
        "payload": event_payload(event),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_status_code": None,
        "last_error": None,
    }


# Adds details to outbound events before they are stored (e.g. what telephony needs).
Enricher = Callable[[AsyncSession, Sequence[OutboundEvent]], Awaitable[list[OutboundEvent]]]


async def enqueue_deliveries(
    session: AsyncSession, events: Sequence[OutboundEvent], *, enrich: Enricher | None = None
) -> int:
    """Add one delivery per (active subscription wanting the type, event); never commits.

    `enrich` adds details to the events someone subscribed to (and only to those: nobody
    pays for details nobody receives). Returns the number of deliveries added. An event
    already enqueued for a subscription is skipped, so replaying a batch after a crash is
    harmless.
    """
    if not events:
        return 0
    topics = await repository.active_subscription_topics(session)
    wanted = [event for event in events if any(event.type in types for _, types in topics)]
    if not wanted:
        return 0
    if enrich is not None:
        wanted = await enrich(session, wanted)
    now = clock.utcnow()
    rows = [
        delivery_row(subscription_id, event, now=now)
        for event in wanted
        for subscription_id, event_types in topics
        if event.type in event_types
    ]
    if not rows:
        return 0
    return await repository.insert_deliveries(session, rows)


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
