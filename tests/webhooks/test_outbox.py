"""The outbox write: one delivery per (active subscriber of the type, event), in the caller's
transaction, and cheap when nobody subscribes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEventType
from app.webhooks.outbox import OutboundEvent, enqueue_deliveries
from tests.webhooks.conftest import add_subscription, event

CREATED = WebhookEventType.INTERACTION_CREATED
COMPLETED = WebhookEventType.INTERACTION_COMPLETED
QUEUED = WebhookEventType.INTERACTION_QUEUED
AGENT = WebhookEventType.AGENT_STATE_CHANGED
URL = "http://127.0.0.1:9/hook"


async def _deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs while the test does."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split()[0].upper())

    sa_event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield seen
    sa_event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_only_active_subscriptions_to_the_type_get_a_delivery(
    backend_sessions: async_sessionmaker[AsyncSession],
) -> None:
    sessions = backend_sessions
    wanted = await add_subscription(sessions, URL, [CREATED.value, COMPLETED.value])
    await add_subscription(sessions, URL, [CREATED.value], active=False)
    await add_subscription(sessions, URL, [AGENT.value])
    created, completed, queued = event(CREATED), event(COMPLETED), event(QUEUED)
    async with sessions() as session, session.begin():
        added = await enqueue_deliveries(session, [created, completed, queued])
    rows = await _deliveries(sessions)
    assert added == 2
    assert {(row.subscription_id, row.event_id) for row in rows} == {
        (wanted, created.id),
        (wanted, completed.id),
    }
    assert all(row.status is DeliveryStatus.PENDING and row.attempts == 0 for row in rows)
    assert all(row.next_attempt_at is not None for row in rows)


async def test_each_subscriber_gets_its_own_delivery_of_an_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await add_subscription(sessions, URL, [CREATED.value])
    second = await add_subscription(sessions, URL, [CREATED.value])
    async with sessions() as session, session.begin():
        assert await enqueue_deliveries(session, [event(CREATED)]) == 2
    assert {row.subscription_id for row in await _deliveries(sessions)} == {first, second}


async def test_the_payload_is_id_type_occurred_at_and_json_ready_data(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    class Channel(StrEnum):
        CHAT = "chat"

    await add_subscription(sessions, URL, [CREATED.value])
    queue_id = uuid.uuid4()
    occurred_at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    outbound = OutboundEvent(
        id=uuid.uuid4(),
        type=CREATED.value,
        occurred_at=occurred_at,
        data={"queue_id": queue_id, "channel": Channel.CHAT, "at": occurred_at, "n": 1},
    )
    async with sessions() as session, session.begin():
        await enqueue_deliveries(session, [outbound])
    [row] = await _deliveries(sessions)
    assert row.payload == {
        "id": str(outbound.id),
        "type": "interaction.created",
        "occurred_at": "2026-11-23T09:30:00+00:00",
        "data": {
            "queue_id": str(queue_id),
            "channel": "chat",
            "at": occurred_at.isoformat(),
            "n": 1,
        },
    }


async def test_deliveries_roll_back_with_the_callers_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_subscription(sessions, URL, [CREATED.value])
    async with sessions() as session:
        await enqueue_deliveries(session, [event(CREATED)])
        await session.rollback()
    assert await _deliveries(sessions) == []


async def test_enqueueing_an_event_twice_adds_nothing_the_second_time(
    backend_sessions: async_sessionmaker[AsyncSession],
) -> None:
    sessions = backend_sessions
    await add_subscription(sessions, URL, [CREATED.value])
    again = event(CREATED)
    async with sessions() as session, session.begin():
        assert await enqueue_deliveries(session, [again]) == 1
    async with sessions() as session, session.begin():
        assert await enqueue_deliveries(session, [again, event(CREATED)]) == 1
    assert len(await _deliveries(sessions)) == 2


async def test_with_no_subscriptions_a_batch_costs_one_select(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    async with sessions() as session:
        assert await enqueue_deliveries(session, [event(CREATED)] * 3) == 0
        await session.rollback()
    assert statements == ["SELECT"]


async def test_with_no_subscriber_of_the_type_a_batch_costs_one_select(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    await add_subscription(sessions, URL, [AGENT.value])
    statements.clear()
    async with sessions() as session:
        assert await enqueue_deliveries(session, [event(CREATED), event(QUEUED)]) == 0
        await session.rollback()
    assert statements == ["SELECT"]


async def test_an_empty_batch_touches_nothing(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    async with sessions() as session:
        assert await enqueue_deliveries(session, []) == 0
    assert statements == []


async def test_a_new_subscription_is_seen_by_the_next_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        assert await enqueue_deliveries(session, [event(CREATED)]) == 0
    await add_subscription(sessions, URL, [CREATED.value])
    async with sessions() as session, session.begin():
        assert await enqueue_deliveries(session, [event(CREATED)]) == 1
