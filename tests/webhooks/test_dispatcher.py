"""The dispatcher against a real HTTP receiver on 127.0.0.1: signed delivery, back-off,
giving up, slow endpoints, leases after a crash, and several senders at once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.db.session import create_engine, create_session_factory
from app.webhooks import repository
from app.webhooks.dispatcher import (
    AttemptOutcome,
    RetryPolicy,
    WebhookDispatcher,
    plan_next_step,
    verify_signature,
)
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.outbox import OutboundEvent, enqueue_deliveries
from tests.webhooks.conftest import (
    SECRET,
    DispatcherFactory,
    Receiver,
    add_subscription,
    event,
    eventually,
)

Sessions = async_sessionmaker[AsyncSession]
FAST_RETRY = RetryPolicy(base_delay_s=0.2, max_delay_s=1.0, max_attempts=3)

SETTLE_TIMEOUT_S = 15.0


async def _enqueue(sessions: Sessions, *events: OutboundEvent) -> None:
    async with sessions() as session, session.begin():
        await enqueue_deliveries(session, events)


async def _rows(sessions: Sessions) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def _settled(sessions: Sessions, count: int) -> list[WebhookDelivery]:
    """Wait until `count` deliveries are delivered or dead, and return every row."""

    async def done() -> bool:
        rows = await _rows(sessions)
        return sum(row.status is not DeliveryStatus.PENDING for row in rows) >= count

    # Generous: on a loaded CI machine two dispatchers polling PostgreSQL can take seconds;
    # the wait ends as soon as the rows are settled.
    await eventually(done, timeout_s=SETTLE_TIMEOUT_S)
    return await _rows(sessions)


# --- the retry policy (pure) ---------------------------------------------------------


def test_back_off_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=10, max_delay_s=3600, max_attempts=15)
    assert [policy.delay_s(n, jitter=0.999999) for n in (1, 2, 3)] == pytest.approx([10, 20, 40])
    assert policy.delay_s(12, jitter=0.999999) == pytest.approx(3600)
    assert policy.delay_s(100, jitter=0.999999) == pytest.approx(3600)


def test_jitter_keeps_the_delay_between_half_and_all_of_it() -> None:
    policy = RetryPolicy(base_delay_s=10)
    assert policy.delay_s(3, jitter=0.0) == 20
    assert 20 <= policy.delay_s(3, jitter=0.5) < 40


def test_a_failure_is_retried_later_until_the_last_attempt_then_dead() -> None:
    now = clock.utcnow()
    policy = RetryPolicy(base_delay_s=10, max_attempts=3)
    failure = AttemptOutcome(500, "HTTP 500")
    retry = plan_next_step(2, failure, now=now, policy=policy, jitter=0.0)
    assert (retry.status, retry.next_attempt_at) == (
        DeliveryStatus.PENDING,
        now + timedelta(seconds=10),
    )
    dead = plan_next_step(3, failure, now=now, policy=policy, jitter=0.0)
    assert (dead.status, dead.next_attempt_at) == (DeliveryStatus.DEAD, None)


@pytest.mark.parametrize("status_code", [200, 201, 204, 299])
def test_any_2xx_is_delivered(status_code: int) -> None:
    now = clock.utcnow()
    step = plan_next_step(
        1, AttemptOutcome(status_code, None), now=now, policy=RetryPolicy(), jitter=0.0
    )
    assert (step.status, step.delivered_at) == (DeliveryStatus.DELIVERED, now)


@pytest.mark.parametrize("status_code", [None, 199, 301, 404, 500])
def test_anything_but_2xx_is_a_failure(status_code: int | None) -> None:
    assert not AttemptOutcome(status_code, "x").delivered


def test_a_lease_shorter_than_the_timeout_is_refused(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="lease_s"):
        WebhookDispatcher(sessions, timeout_s=5, lease_s=5)


# --- delivery through a real receiver ------------------------------------------------


async def test_an_event_is_posted_signed_with_its_headers_and_payload(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook"))
    sent = event(interaction_id="i-1")
    await _enqueue(sessions, sent)
    await start_dispatcher(http=None)
    [row] = await _settled(sessions, 1)
    [request] = receiver.received("/hook")
    assert verify_signature(
        SECRET, request.headers["Switchboard-Signature"], request.body, now=time.time()
    )
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Switchboard-Event-Id"] == str(sent.id)
    assert request.headers["Switchboard-Event-Type"] == "interaction.created"
    assert json.loads(request.body) == {
        "id": str(sent.id),
        "type": "interaction.created",
        "occurred_at": sent.occurred_at.isoformat(),
        "data": {"interaction_id": "i-1"},
    }
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert row.delivered_at is not None and row.last_attempt_at is not None
    assert (row.next_attempt_at, row.last_error) == (None, None)


async def test_notify_wakes_the_dispatcher_without_waiting_for_the_poll(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook"))
    dispatcher = await start_dispatcher(poll_interval_s=30)
    await asyncio.sleep(0.05)  # let it claim nothing and fall asleep
    await _enqueue(sessions, event())
    dispatcher.notify()
    await _settled(sessions, 1)


async def test_a_500_is_retried_after_a_back_off_then_delivered(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook", 500))
    await _enqueue(sessions, event())
    await start_dispatcher(retry=FAST_RETRY)
    [row] = await _settled(sessions, 1)
    first, second = receiver.received("/hook")
    assert second.at - first.at >= 0.1  # base 0.2 s with the smallest jitter: half of it
    assert first.headers["Switchboard-Event-Id"] == second.headers["Switchboard-Event-Id"]
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)


async def test_a_failure_is_recorded_with_its_status_and_next_attempt(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook", 503))
    await _enqueue(sessions, event())
    before = clock.utcnow()
    await start_dispatcher(retry=RetryPolicy(base_delay_s=60))

    async def attempted() -> bool:
        return (await _rows(sessions))[0].last_status_code == 503

    await eventually(attempted)
    [row] = await _rows(sessions)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.last_error is not None and row.last_error.startswith("HTTP 503: ok")
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= before + timedelta(seconds=30)


async def test_a_delivery_is_dead_after_the_maximum_attempts(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook", 500, 500, 500, 500))
    await _enqueue(sessions, event())
    await start_dispatcher(retry=RetryPolicy(base_delay_s=0.01, max_attempts=3))
    [row] = await _settled(sessions, 1)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DEAD, 3, 500)
    assert row.next_attempt_at is None
    assert len(receiver.received("/hook")) == 3


async def test_a_refused_connection_is_a_failure_with_its_error(
    sessions: Sessions, start_dispatcher: DispatcherFactory, free_port: int
) -> None:
    await add_subscription(sessions, f"http://127.0.0.1:{free_port}/hook")
    await _enqueue(sessions, event())
    await start_dispatcher(retry=RetryPolicy(max_attempts=1))
    [row] = await _settled(sessions, 1)
    assert (row.status, row.last_status_code) == (DeliveryStatus.DEAD, None)
    assert row.last_error is not None and row.last_error.startswith("ConnectError")


async def test_a_redirect_is_not_followed(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    elsewhere = receiver.url("/elsewhere")
    await add_subscription(sessions, receiver.on("/hook", 302, Location=elsewhere))
    await _enqueue(sessions, event())
    await start_dispatcher(retry=RetryPolicy(max_attempts=1))
    [row] = await _settled(sessions, 1)
    assert (row.status, row.last_status_code) == (DeliveryStatus.DEAD, 302)
    assert receiver.received("/elsewhere") == []


async def test_a_slow_receiver_times_out_without_holding_up_other_endpoints(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    slow = await add_subscription(sessions, receiver.on("/slow", delay_s=3))
    await _enqueue(sessions, event(), event())
    async with sessions() as session, session.begin():
        # The slow endpoint's backlog is older, so it is first in line.
        await session.execute(
            update(WebhookDelivery).values(next_attempt_at=clock.utcnow() - timedelta(minutes=5))
        )
    fast = await add_subscription(sessions, receiver.on("/fast"))
    await _enqueue(sessions, event(), event())
    await start_dispatcher(
        timeout_s=0.8, concurrency=4, per_subscription_limit=2, retry=RetryPolicy(max_attempts=1)
    )

    async def fast_all_delivered() -> bool:
        rows = [row for row in await _rows(sessions) if row.subscription_id == fast]
        return all(row.status is DeliveryStatus.DELIVERED for row in rows)

    await eventually(fast_all_delivered)
    slow_rows = [row for row in await _rows(sessions) if row.subscription_id == slow]
    assert all(row.last_error is None for row in slow_rows)  # none has even timed out yet
    rows = await _settled(sessions, 6)
    slow_rows = [row for row in rows if row.subscription_id == slow]
    assert all(row.status is DeliveryStatus.DEAD for row in slow_rows)
    assert all(row.last_error == "no answer within 0.8 s" for row in slow_rows)


async def test_an_inactive_subscription_is_not_sent_to(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    paused = await add_subscription(sessions, receiver.on("/paused"))
    await add_subscription(sessions, receiver.on("/live"))
    await _enqueue(sessions, event())
    async with sessions() as session, session.begin():
        await session.execute(
            update(WebhookSubscription).where(WebhookSubscription.id == paused).values(active=False)
        )
    await start_dispatcher()
    await eventually(lambda: _has_requests(receiver, "/live"))
    await asyncio.sleep(0.1)
    assert receiver.received("/paused") == []
    paused_rows = [row for row in await _rows(sessions) if row.subscription_id == paused]
    assert [(row.status, row.attempts) for row in paused_rows] == [(DeliveryStatus.PENDING, 0)]


async def _has_requests(receiver: Receiver, path: str) -> bool:
    return bool(receiver.received(path))


# --- at least once -------------------------------------------------------------------


async def test_a_delivery_claimed_by_a_sender_that_died_is_sent_after_its_lease(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook"))
    await _enqueue(sessions, event())
    now = clock.utcnow()
    async with sessions() as session, session.begin():
        # A process claims the row, then dies before sending it.
        [claimed] = await repository.claim_due_deliveries(
            session, now=now, lease_until=now + timedelta(seconds=0.4), limit=10
        )
    await start_dispatcher()
    await asyncio.sleep(0.2)
    assert receiver.received("/hook") == []  # still leased to the dead process
    [row] = await _settled(sessions, 1)
    assert (row.id, row.status, row.attempts) == (claimed.id, DeliveryStatus.DELIVERED, 2)


async def test_an_attempt_cut_short_by_stop_is_sent_again_by_the_next_dispatcher(
    sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(sessions, receiver.on("/hook", delay_s=3))
    await _enqueue(sessions, event())
    first = await start_dispatcher(timeout_s=0.5, lease_s=0.6, stop_timeout_s=0.1)
    await eventually(lambda: _has_requests(receiver, "/hook"))
    stopping = time.monotonic()
    await first.stop()
    assert time.monotonic() - stopping < 1  # bounded, although the receiver still hangs
    receiver.routes["/hook"].delay_s = 0
    await start_dispatcher()
    [row] = await _settled(sessions, 1)
    first_try, second_try = receiver.received("/hook")
    assert first_try.headers["Switchboard-Event-Id"] == second_try.headers["Switchboard-Event-Id"]
    assert second_try.at - first_try.at >= 0.5  # only once the lease lapsed
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)


async def test_two_dispatchers_never_send_the_same_delivery_twice(
    backend_sessions: Sessions, receiver: Receiver, start_dispatcher: DispatcherFactory
) -> None:
    await add_subscription(backend_sessions, receiver.on("/hook"))
    events = [event() for _ in range(20)]
    await _enqueue(backend_sessions, *events)
    for _ in range(2):
        await start_dispatcher(backend_sessions, batch_size=5, concurrency=8)
    rows = await _settled(backend_sessions, 20)
    assert all(row.attempts == 1 for row in rows)
    sent = [request.headers["Switchboard-Event-Id"] for request in receiver.received("/hook")]
    assert sorted(sent) == sorted(str(outbound.id) for outbound in events)


async def test_stopping_a_dispatcher_that_never_started_is_harmless(sessions: Sessions) -> None:
    await WebhookDispatcher(sessions).stop()


async def test_a_database_failure_is_logged_and_stop_stays_prompt(
    sqlite_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(sqlite_database_url)  # never migrated: every claim fails
    dispatcher = WebhookDispatcher(create_session_factory(engine), poll_interval_s=10)
    await dispatcher.start()
    await eventually(lambda: _logged(caplog, "claiming due deliveries failed"))
    dispatcher.notify()  # does not make it hammer the broken database
    stopping = time.monotonic()
    await dispatcher.stop()
    await engine.dispose()
    assert time.monotonic() - stopping < 0.5
    assert sum("claiming due deliveries failed" in r.message for r in caplog.records) == 1


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.message for record in caplog.records)
