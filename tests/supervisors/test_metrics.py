"""`GET /metrics`: queue gauges, agents by state, sockets, webhooks, routing histograms."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.routing import events as e
from app.routing.model import AgentId, Channel, InteractionId, QueueId
from app.settings import Settings
from app.supervisors import instruments as metrics
from tests.supervisors.test_api import QUEUE, start_chat
from tests.world import add_agent, add_queue


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


async def test_metrics_show_each_queue_and_agents_by_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    queue_id = await add_queue(app, QUEUE, {"ui": 1})
    await add_agent(app, "ana", {"ui": 5}, available=False)
    await start_chat(client)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("switchboard_live_view_up", frozenset())] == 1
    queue = frozenset({("queue_id", str(queue_id)), ("queue", QUEUE)})
    assert samples[("switchboard_queue_waiting", queue)] == 1
    assert samples[("switchboard_queue_oldest_wait_seconds", queue)] >= 0
    assert samples[("switchboard_agents", frozenset({("state", "offline")}))] >= 1
    assert samples[("switchboard_websockets", frozenset({("kind", "supervisor")}))] == 0
    assert samples[("switchboard_webhook_deliveries", frozenset({("status", "dead")}))] == 0
    assert samples[("switchboard_queue_alerts", queue | {("code", "no_agent_available")})] == 1
    assert any(name == "switchboard_routing_decision_seconds_count" for name, _ in samples)


def test_the_routing_hook_measures_decisions_and_time_to_first_offer() -> None:
    before = _samples(_process_text())
    queued = e.InteractionQueued(
        100.0, InteractionId("i-1"), QueueId("q"), Channel.CHAT, 0, 100.0, 1
    )
    offered = e.InteractionOffered(102.5, InteractionId("i-1"), QueueId("q"), AgentId("a"), 130.0)

    metrics.record_routing_batch(apply_s=0.002, requests=2, events=[queued])
    metrics.record_routing_batch(apply_s=0.001, requests=1, events=[offered])

    after = _samples(_process_text())
    key = ("switchboard_offer_latency_seconds_count", frozenset())
    assert after[key] - before.get(key, 0) == 1
    total = ("switchboard_offer_latency_seconds_sum", frozenset())
    assert after[total] - before.get(total, 0) == 2.5
    decisions = ("switchboard_routing_decision_seconds_count", frozenset())
    assert after[decisions] - before.get(decisions, 0) == 3


def _process_text() -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.PROCESS_REGISTRY).decode()


async def test_metrics_can_be_switched_off(settings: Settings, migrated_template: Path) -> None:
    import shutil

    from sqlalchemy.engine import make_url

    database = make_url(settings.effective_database_url).database
    assert database is not None
    shutil.copyfile(migrated_template, database)
    application = create_app(settings.model_copy(update={"metrics_enabled": False}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/metrics")).status_code == 404
