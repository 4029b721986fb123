"""The writer on its own, with a fake clock: timers, group commit, refusals, persistence."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.models import Staff, StaffRole
from app.db.session import create_engine, create_session_factory
from app.interactions.models import Interaction, InteractionEvent
from app.queues.models import Queue
from app.routing import commands as c
from app.routing.errors import RoutingError
from app.routing.model import (
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    InteractionState,
    QueueId,
)
from app.runtime import recovery
from app.runtime.persistence import NewInteraction, StoredEvent
from app.runtime.worker import RoutingWorker, WorkerStoppedError
from app.settings import Settings

START_S = 1_795_000_000.0
QUEUE = QueueId("11111111-1111-1111-1111-111111111111")
AGENT = AgentId("22222222-2222-2222-2222-222222222222")


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now_s: float = START_S

    def __call__(self) -> float:
        return self.now_s


@dataclass
class Published:
    """Everything the worker published, in order."""

    events: list[StoredEvent] = field(default_factory=list)

    async def __call__(self, stored: list[StoredEvent]) -> None:
        self.events.extend(stored)


@pytest.fixture
async def sessions(migrated_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated SQLite database."""
    engine = create_engine(migrated_settings.effective_database_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """One chat queue (5 s offers, busy on a miss) and one agent."""
    async with sessions() as session, session.begin():
        session.add(
            Queue(id=uuid.UUID(QUEUE), name="UI", offer_timeout_s=5, busy_on_missed_offer=True)
        )
        session.add(
            Staff(
                id=uuid.UUID(AGENT),
                username="maria",
                display_name="Maria",
                role=StaffRole.AGENT,
                password_hash="-",
            )
        )


@pytest.fixture
async def worker(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[RoutingWorker, FakeClock, Published]]:
    """A running writer with one chat queue (5 s offers, busy on a miss) and one agent."""
    await _seed(sessions)
    clock, published = FakeClock(), Published()
    writer = RoutingWorker(
        sessions=sessions, rebuild=recovery.rebuild, publish=published, now=clock
    )
    await writer.start()
    yield writer, clock, published
    await writer.stop()


def _arrival() -> tuple[c.Arrive, NewInteraction]:
    interaction_id = uuid.uuid4()
    new = NewInteraction(id=interaction_id, channel=Channel.CHAT, queue_id=None)
    return c.Arrive(InteractionId(str(interaction_id)), Channel.CHAT, queue_id=QUEUE), new


async def test_an_offer_times_out_when_its_timer_fires(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, clock, published = worker
    await writer.submit(c.SetAgentState(AGENT, AgentState.AVAILABLE))
    arrive, new = _arrival()
    outcome = await writer.submit(arrive, new_interaction=new)
    assert "InteractionOffered" in [type(event).__name__ for event in outcome.events]
    clock.now_s += 6
    await writer.submit(c.Tick())
    view = writer.engine.interaction(arrive.interaction_id)
    assert view is not None and view.state is InteractionState.QUEUED
    agent = writer.engine.agent(AGENT)
    assert agent is not None and (agent.state, agent.reason) == (AgentState.BUSY, "missed")
    assert "interaction.offer_timed_out" in [event.type for event in published.events]


async def test_the_worker_fires_due_timers_without_being_asked(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, clock, published = worker
    await writer.submit(c.SetAgentState(AGENT, AgentState.AVAILABLE))
    arrive, new = _arrival()
    await writer.submit(arrive, new_interaction=new)
    clock.now_s += 6
    for _ in range(30):
        if "interaction.offer_timed_out" in [event.type for event in published.events]:
            break
        await asyncio.sleep(0.1)
    assert "interaction.offer_timed_out" in [event.type for event in published.events]


async def test_concurrent_requests_are_committed_in_few_batches(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, _, _ = worker
    batches_before = writer.batches
    arrivals = [_arrival() for _ in range(200)]
    await asyncio.gather(*(writer.submit(a, new_interaction=n) for a, n in arrivals))
    assert writer.batches - batches_before <= 10
    assert len(writer.engine.interaction_ids()) == 200


async def test_a_refused_command_is_an_error_and_changes_nothing(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, _, _ = worker
    with pytest.raises(RoutingError):
        await writer.submit(c.Accept(InteractionId("nope"), AGENT))
    arrive, new = _arrival()
    await writer.submit(arrive, new_interaction=new)
    assert writer.engine.interaction_ids() == [arrive.interaction_id]


async def test_each_event_is_stored_in_the_history_before_it_is_published(
    worker: tuple[RoutingWorker, FakeClock, Published],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer, _, published = worker
    arrive, new = _arrival()
    await writer.submit(arrive, new_interaction=new)
    async with sessions() as session:
        stored_types = list(
            await session.scalars(
                select(InteractionEvent.type).where(InteractionEvent.interaction_id == new.id)
            )
        )
        row = await session.get(Interaction, new.id)
    assert stored_types == ["interaction.created", "interaction.queued"]
    assert [e.type for e in published.events if e.interaction_id == str(new.id)] == stored_types
    assert row is not None and row.queued_at is not None and row.queue_seq is not None


async def test_a_stopped_worker_refuses_requests(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, _, _ = worker
    await writer.stop()
    with pytest.raises(WorkerStoppedError):
        await writer.submit(c.Tick())


async def test_a_request_id_seen_before_is_answered_again_without_applying_it(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, _, published = worker
    arrive, new = _arrival()
    first = await writer.submit(arrive, new_interaction=new, request_id="req-1")
    again = await writer.submit(arrive, new_interaction=new, request_id="req-1")
    assert again.replayed and again.result() == first.result()
    created = [event for event in published.events if event.type == "interaction.created"]
    assert len(created) == 1


async def test_the_same_request_twice_in_one_batch_is_applied_once_and_answered_alike(
    worker: tuple[RoutingWorker, FakeClock, Published],
) -> None:
    writer, _, published = worker
    command = c.SetAgentState(AGENT, AgentState.AVAILABLE)
    first, second = await asyncio.gather(
        writer.submit(command, request_id="dup"), writer.submit(command, request_id="dup")
    )
    assert first.result() == second.result()
    assert second.replayed
    changes = [event for event in published.events if event.type == "agent.state_changed"]
    assert len(changes) == 1


@pytest.mark.parametrize(("deliveries", "wakes"), [(2, 1), (0, 0)])
async def test_the_webhook_dispatcher_is_woken_only_after_a_batch_that_added_deliveries(
    sessions: async_sessionmaker[AsyncSession], deliveries: int, wakes: int
) -> None:
    await _seed(sessions)
    woken: list[int] = []

    async def outbox(session: AsyncSession, stored: object) -> int:
        return deliveries

    writer = RoutingWorker(
        sessions=sessions,
        rebuild=recovery.rebuild,
        publish=Published(),
        outbox=outbox,
        on_deliveries=lambda: woken.append(1),
        now=FakeClock(),
    )
    await writer.start()
    woken.clear()  # recovery's own batch
    try:
        arrive, new = _arrival()
        await writer.submit(arrive, new_interaction=new)
    finally:
        await writer.stop()
    assert len(woken) == wakes
