"""A small stored history, computed by hand in test_intervals.py, shared by the report tests.

Times are seconds after T0 = 2026-11-23 08:50 UTC; the 09:00 boundary is at 600.
Queue A (threshold 60 s) and queue B (threshold 20 s); agents Ann (a1) and Bob (a2) take
one interaction each at a time (calls and walk-ins take the whole agent, and each chat
here waits only while its agent holds one of those); offers last an hour and there is no
wrap-up. x1 is a chat, x2 and x4 voice calls, x3 a walk-in and x5 a video call; each call
connects (`call.answered`) the moment it is accepted, so it is answered then.

    0    x1 arrives in A          30  x2 arrives in A         40  x3 arrives in A
    50   Ann available: x1 offered and answered (wait 50, within 60)
    90   x3 abandons (wait 50, before the threshold)
    100  x2 abandons (wait 70, after the threshold)
    120  x4 arrives in A
    200  x1 completed (handle 150); x4 offered to Ann and answered (wait 80, after 60)
    300  Ann transfers x4 to B: it arrives in B
    315  Bob available: x4 offered and answered in B (wait 15, within 20)
    580  x5 arrives in B, offered to Ann
    620  Ann answers x5 (wait 40, after 20)      - in the 09:00 interval
    700  x4 completed by Bob (handle 385)        1000  x5 completed by Ann (handle 380)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from app.routing import commands as c
from app.routing.model import (
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    QueueConfig,
    QueueId,
    agent_config,
)
from tests.conftest import Caller, CallerFactory
from tests.reports.support import (
    StoredRun,
    at,
    call_answered,
    set_columns,
    stored_agent,
    stored_queue,
)

CHANNELS = {
    1: Channel.CHAT,
    2: Channel.VOICE,
    3: Channel.WALK_IN,
    4: Channel.VOICE,
    5: Channel.VIDEO,
}
"""The channel of each interaction of the world."""


@dataclass(frozen=True)
class World:
    """The ids of the stored history and the engine that made it."""

    queue_a: str
    queue_b: str
    ann: str
    bob: str
    x: dict[int, str]
    run: StoredRun


@pytest.fixture
async def supervisor(staff_caller: CallerFactory) -> Caller:
    return await staff_caller(StaffRole.SUPERVISOR)


@pytest.fixture
async def world(app: FastAPI) -> World:
    queue_a = await stored_queue(app, "Unemployment claims", 60)
    queue_b = await stored_queue(app, "Paid leave", 20)
    ann, bob = await stored_agent(app, "ann"), await stored_agent(app, "bob")
    x = {n: str(uuid.uuid4()) for n in range(1, 6)}
    run = StoredRun(app)
    for queue_id, threshold in ((queue_a, 60.0), (queue_b, 20.0)):
        config = QueueConfig(
            QueueId(queue_id), sl_threshold_s=threshold, offer_timeout_s=3600.0, wrap_up_s=0.0
        )
        await run.do(-600, c.UpsertQueue(config))
    for agent in (ann, bob):
        await run.do(-600, c.UpsertAgent(agent_config(agent, {}, capacity={Channel.VOICE: 1})))

    def arrive(n: int, queue: str) -> c.Arrive:
        return c.Arrive(InteractionId(x[n]), CHANNELS[n], queue_id=QueueId(queue))

    def ix(n: int) -> InteractionId:
        return InteractionId(x[n])

    async def connect(n: int, at_s: float, queue: str, agent: str, wait_s: float) -> None:
        await call_answered(app, x[n], at_s, queue_id=queue, agent_id=agent, wait_s=wait_s)

    await run.do(0, arrive(1, queue_a))
    await run.do(30, arrive(2, queue_a))
    await run.do(40, arrive(3, queue_a))
    await run.do(50, c.SetAgentState(AgentId(ann), AgentState.AVAILABLE))
    await run.do(50, c.Accept(ix(1), AgentId(ann)))
    await run.do(90, c.Abandon(ix(3)))
    await run.do(100, c.Abandon(ix(2)))
    await run.do(120, arrive(4, queue_a))
    await run.do(200, c.Complete(ix(1)))
    await run.do(200, c.Accept(ix(4), AgentId(ann)))
    await connect(4, 200, queue_a, ann, 80)
    await run.do(300, c.Transfer(ix(4), to_queue=QueueId(queue_b)))
    await run.do(315, c.SetAgentState(AgentId(bob), AgentState.AVAILABLE))
    await run.do(315, c.Accept(ix(4), AgentId(bob)))
    await connect(4, 315, queue_b, bob, 15)
    await run.do(580, arrive(5, queue_b))
    await run.do(620, c.Accept(ix(5), AgentId(ann)))
    await connect(5, 620, queue_b, ann, 40)
    await run.do(700, c.Complete(ix(4)))
    await run.do(1000, c.Complete(ix(5)))
    # The first agent message of x1 came 80 s after it was queued; ratings after the end.
    await set_columns(app, x[1], first_response_at=at(80), satisfaction_rating=5)
    await set_columns(app, x[4], satisfaction_rating=3)
    await set_columns(app, x[5], satisfaction_rating=4)
    return World(queue_a, queue_b, ann, bob, x, run)


async def get_report(
    client: httpx.AsyncClient, caller: Caller, name: str, **params: str
) -> httpx.Response:
    """GET /api/v1/reports/<name> with query parameters (from is spelt from_)."""
    query = {key.rstrip("_"): value for key, value in params.items()}
    return await client.get(f"/api/v1/reports/{name}", params=query, headers=caller.headers)
