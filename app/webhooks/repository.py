"""Every SQL statement of the webhooks domain: subscriptions, the outbox and its claims."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

# Rows per INSERT: well under SQLite's limit on bound parameters (ten columns each).
INSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased to this sender, with what it needs to send it."""

    id: int
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret: str
    claimed_at: datetime


# --- subscriptions -------------------------------------------------------------------


def _owned(statement: Select[Any], owner_key_id: uuid.UUID | None) -> Select[Any]:
    if owner_key_id is None:
        return statement
    return statement.where(WebhookSubscription.created_by_api_key_id == owner_key_id)


async def add_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    """Insert a subscription and flush it."""
    session.add(subscription)
    await session.flush()


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, *, owner_key_id: uuid.UUID | None
) -> WebhookSubscription | None:
    """One subscription, only if `owner_key_id` (when given) created it."""
    statement = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    result: WebhookSubscription | None = await session.scalar(_owned(statement, owner_key_id))
    return result


async def list_subscriptions(
    session: AsyncSession, params: PageParams, *, owner_key_id: uuid.UUID | None
) -> list[WebhookSubscription]:
    """One page (plus one row) of subscriptions, newest first."""
    statement = paginate(
        _owned(select(WebhookSubscription), owner_key_id),
        params,
        created_at=WebhookSubscription.created_at,
        id_column=WebhookSubscription.id,
    )
    return list(await session.scalars(statement))


async def delete_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    """Remove a subscription; the database removes its deliveries with it."""
    await session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id)
    )
    session.expunge(subscription)


# Built once and run on the session's connection: the routing writer reads it after every
# batch, and the ORM's handling of a statement cost more than the statement.
_ACTIVE_TOPICS = select(WebhookSubscription.id, WebhookSubscription.event_types).where(
    WebhookSubscription.active.is_(True)
)


async def active_subscription_topics(
    session: AsyncSession,
) -> list[tuple[uuid.UUID, frozenset[str]]]:
    """(id, event types) of every active subscription: the outbox's one read per batch."""
    connection = await session.connection()
    rows = await connection.execute(_ACTIVE_TOPICS)
    return [(row.id, frozenset(row.event_types)) for row in rows]


# --- deliveries ----------------------------------------------------------------------


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any (subscription, event) already there; returns the count."""
    inserted = 0
    dialect = session.get_bind().dialect.name
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = list(rows[start : start + INSERT_CHUNK])
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(WebhookDelivery)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
            .returning(WebhookDelivery.id)
        )
        inserted += len((await session.execute(statement)).all())
    return inserted


async def add_delivery(session: AsyncSession, delivery: WebhookDelivery) -> None:
    """Insert one delivery and flush it (its id is then known)."""
    session.add(delivery)
    await session.flush()


async def get_delivery(
    session: AsyncSession, subscription_id: uuid.UUID, delivery_id: int
) -> WebhookDelivery | None:
    """One delivery of one subscription."""
    result: WebhookDelivery | None = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
    )
    return result


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    params: PageParams,
    *,
    status: DeliveryStatus | None,
) -> list[WebhookDelivery]:
    """One page (plus one row) of a subscription's deliveries, newest first.

    Delivery ids are integers; the shared cursor carries them as `UUID(int=id)`.
    """
    statement = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    if params.after is not None:
        after_at, after_id = params.after.created_at, params.after.id.int
        statement = statement.where(
            or_(
                WebhookDelivery.created_at < after_at,
                and_(WebhookDelivery.created_at == after_at, WebhookDelivery.id < after_id),
            )
        )
    statement = statement.order_by(
        WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()
    ).limit(params.limit + 1)
    return list(await session.scalars(statement))


async def any_due_delivery(session: AsyncSession, *, now: datetime) -> bool:
    """Whether some pending delivery is due now (a cheap read before a claim)."""
    found = await session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .limit(1)
    )
    return found is not None


async def claim_due_deliveries(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    skip_subscriptions: Sequence[uuid.UUID] = (),
) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries of active subscriptions to the caller.

    One UPDATE: the attempt is counted and the row hidden until `lease_until`, so a sender
    that dies mid-attempt leaves it to be retried. On PostgreSQL the rows are locked with
    SKIP LOCKED, so concurrent senders never claim the same row.
    """
    due = (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    if skip_subscriptions:
        due = due.where(WebhookDelivery.subscription_id.not_in(skip_subscriptions))
    claim = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due.scalar_subquery()))
        .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=lease_until)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
        )
    )
    claimed = (await session.execute(claim, execution_options={"synchronize_session": False})).all()
    if not claimed:
        return []
    targets = await _targets(session, {row.subscription_id for row in claimed})
    return [
        ClaimedDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            event_id=row.event_id,
            event_type=row.event_type,
            payload=row.payload,
            attempts=row.attempts,
            url=targets[row.subscription_id][0],
            secret=targets[row.subscription_id][1],
            claimed_at=now,
        )
        for row in claimed
        if row.subscription_id in targets
    ]


async def _targets(
    session: AsyncSession, subscription_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await session.execute(
        select(WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret).where(
            WebhookSubscription.id.in_(subscription_ids)
        )
    )
    return {row.id: (row.url, row.secret) for row in rows}


async def release_claims(
    session: AsyncSession, delivery_ids: Sequence[int], *, now: datetime
) -> None:
    """Hand back claimed deliveries unattempted: due again now, their attempt uncounted."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(delivery_ids),
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=now),
        execution_options={"synchronize_session": False},
    )


async def finish_attempt(
    session: AsyncSession,
    delivery: ClaimedDelivery,
    *,
    status: DeliveryStatus,
    attempted_at: datetime,
    next_attempt_at: datetime | None,
    delivered_at: datetime | None,
    last_status_code: int | None,
    last_error: str | None,
) -> bool:
    """Store an attempt's outcome, unless the row moved on meanwhile (re-claimed, retried)."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.attempts == delivery.attempts,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(
            status=status,
            last_attempt_at=attempted_at,
            next_attempt_at=next_attempt_at,
            delivered_at=delivered_at,
            last_status_code=last_status_code,
            last_error=last_error,
        )
        .returning(WebhookDelivery.id),
        execution_options={"synchronize_session": False},
    )
    return result.first() is not None
