"""One definition everywhere: the same events give the same figures in the report, in the
engine's interval statistics, in the simulator's KPIs and in the live statistics API."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.routing import commands as c
from app.routing import simulate
from app.routing.model import (
    AgentId,
    Channel,
    InteractionId,
    QueueConfig,
    QueueId,
    agent_config,
)
from app.routing.simulate import Distribution, RosterAgent, Scenario, Simulator, TraceArrival
from app.routing.stats import Counts, aht_s, asa_s
from tests.conftest import Caller
from tests.reports.conftest import get_report
from tests.reports.support import T0, RecordingEngine, store_log, stored_agent, stored_queue
from tests.world import add_agent, add_queue, resources_of

ARRIVALS = 160
SPAN_S = 5400.0  # arrivals over 90 minutes: seven intervals, most of them busy


def _trace(queues: list[str], seed: int = 7) -> list[TraceArrival]:
    rng = random.Random(seed)
    arrivals = []
    for _ in range(ARRIVALS):
        patience = None if rng.random() < 0.4 else rng.uniform(5.0, 240.0)
        arrivals.append(
            TraceArrival(
                id=InteractionId(str(uuid.UUID(int=rng.getrandbits(128), version=4))),
                arrival_s=rng.uniform(0.0, SPAN_S),
                queue_id=QueueId(rng.choice(queues)),
                # The engine counts an answer when the agent accepts; so do the figures,
                # except for calls, answered when they connect (test_channels.py).
                channel=Channel.CHAT,
                skills=None,
                handle_s=rng.expovariate(1 / 150.0),
                patience_s=patience,
            )
        )
    return arrivals


def seconds(value: float | None) -> Any:
    """A duration as reports give it: to the tenth of a second."""
    return None if value is None else pytest.approx(value, abs=0.05)


def ratio(value: float | None) -> Any:
    """A ratio as reports give it: to four decimals."""
    return None if value is None else pytest.approx(value, abs=5e-5)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _assert_same_kpis(report: dict[str, Any], counts: Counts, where: str) -> None:
    expected = {
        "arrived": counts.arrived,
        "answered": counts.answered,
        "answered_within_threshold": counts.answered_within,
        "abandoned": counts.abandoned,
        "abandoned_after_threshold": counts.abandoned_after,
        "completed": counts.completed,
    }
    assert {key: report[key] for key in expected} == expected, where
    assert report["asa_s"] == seconds(asa_s(counts)), where
    assert report["aht_s"] == seconds(aht_s(counts)), where


async def test_report_engine_and_simulator_agree_on_a_trace(
    app: FastAPI,
    client: httpx.AsyncClient,
    supervisor: Caller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queues = [await stored_queue(app, "Claims", 30), await stored_queue(app, "Employers", 60)]
    agents = [await stored_agent(app, name) for name in ("ann", "bob", "cruz")]
    scenario = Scenario(
        queues=(
            QueueConfig(QueueId(queues[0]), sl_threshold_s=30.0),
            QueueConfig(QueueId(queues[1]), sl_threshold_s=60.0),
        ),
        agents=tuple(
            RosterAgent(agent_config(agent, {}, capacity={Channel.CHAT: 1})) for agent in agents
        ),
        start_at=T0,
        duration_s=SPAN_S,
        accept_delay=Distribution("constant", 4.0),
    )
    monkeypatch.setattr(simulate, "Engine", RecordingEngine)
    simulator = Simulator(scenario, _trace(queues))
    result = simulator.run()
    engine = simulator.engine
    assert isinstance(engine, RecordingEngine)
    await store_log(app, engine)

    response = await get_report(
        client, supervisor, "queues", from_="2026-11-23T08:00:00Z", to="2026-11-23T12:00:00Z"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    reported = {(row["queue_id"], _epoch(row["interval_start"])): row for row in body["intervals"]}
    # (b) the engine's own 15-minute intervals, cell by cell.
    intervals = engine.collector.intervals
    assert set(reported) == set(intervals)
    assert len(intervals) >= 12
    for key, counts in intervals.items():
        _assert_same_kpis(reported[key], counts, f"interval {key}")
    # (c) the simulator's KPIs over the whole run, queue by queue.
    totals = {row["queue_id"]: row for row in body["totals"]}
    assert set(totals) == set(queues)
    for queue_id in queues:
        kpis = result.kpis[QueueId(queue_id)]
        row = totals[queue_id]
        assert (row["arrived"], row["answered"], row["abandoned"], row["completed"]) == (
            kpis.arrived,
            kpis.answered,
            kpis.abandoned,
            kpis.completed,
        )
        assert row["service_level"] == ratio(kpis.service_level)
        assert row["abandon_rate"] == ratio(kpis.abandon_rate)
        assert (row["asa_s"], row["aht_s"]) == (seconds(kpis.asa_s), seconds(kpis.aht_s))
    assert sum(row["abandoned_after_threshold"] for row in totals.values()) > 0
    assert (
        0
        < sum(row["answered_within_threshold"] for row in totals.values())
        < sum(row["answered"] for row in totals.values())
    )

    agent_response = await get_report(
        client, supervisor, "agents", from_="2026-11-23T08:00:00Z", to="2026-11-23T12:00:00Z"
    )
    agent_rows = {
        (row["agent_id"], _epoch(row["interval_start"])): (row["handled"], row["aht_s"])
        for row in agent_response.json()["intervals"]
        if row["handled"]
    }
    engine_rows = {
        (agent, start): (counts.completed, seconds(aht_s(counts)))
        for (agent, start), counts in engine.collector.agent_intervals.items()
    }
    assert agent_rows == engine_rows


async def test_the_report_agrees_with_the_live_statistics_of_the_running_service(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    queue_id = str(await add_queue(app, "Walk-ins", {}, wrap_up_s=0))
    agent = await add_agent(app, "dana", {})
    routing = resources_of(app).routing
    created = []
    for _ in range(3):
        response = await client.post(
            "/api/v1/interactions",
            json={"channel": "chat", "queue": queue_id, "topic": "claim status"},
            headers=supervisor.headers,
        )
        assert response.status_code == 201, response.text
        created.append(InteractionId(response.json()["id"]))
    await routing.execute(c.Accept(created[0], AgentId(agent.id)))
    await routing.execute(c.Complete(created[0]))
    await routing.execute(c.Accept(created[1], AgentId(agent.id)))
    await routing.execute(c.Abandon(created[2]))

    live = await client.get("/api/v1/stats/queues", headers=supervisor.headers)
    since_start = next(q for q in live.json()["queues"] if q["queue_id"] == queue_id)["since_start"]
    now = clock.utcnow()
    window = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
        "queue_id": queue_id,
    }
    report = await client.get("/api/v1/reports/queues", params=window, headers=supervisor.headers)
    (total,) = report.json()["totals"]
    assert (total["arrived"], total["answered"], total["abandoned"], total["completed"]) == (
        3,
        2,
        1,
        1,
    )
    for name in ("arrived", "answered", "abandoned", "completed"):
        assert total[name] == since_start[name], name
    # Both round alike: seconds to 0.1, ratios to 4 decimals.
    for name in ("asa_s", "service_level", "abandon_rate", "aht_s"):
        assert total[name] == since_start[name], name
