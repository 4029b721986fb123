"""Reports split by channel, narrowed to one channel, and calls answered when they connect."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
from tests.conftest import Caller
from tests.reports.conftest import World, get_report
from tests.reports.support import StoredRun, call_answered, stored_agent, stored_queue

DAY = {"from_": "2026-11-23", "to": "2026-11-23"}
REPORTS = ("queues", "agents", "dispositions", "satisfaction", "topics")
QUEUE_COUNTS = (
    "arrived",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "abandoned_after_threshold",
    "completed",
    "handle_s",
    "first_responses",
)
AGENT_COUNTS = ("answered", "handled", "handle_s")


def _lines(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [*body["intervals"], *body["totals"]]


def _split(row: dict[str, Any], *names: str) -> dict[str, tuple[Any, ...]]:
    return {
        channel: tuple(figures[name] for name in names)
        for channel, figures in row["by_channel"].items()
    }


async def test_the_queue_split_by_channel_adds_up_to_every_line(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", **DAY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["channel"] is None
    for line in _lines(body):
        for name in QUEUE_COUNTS:
            parts = [figures[name] for figures in line["by_channel"].values()]
            assert sum(parts) == pytest.approx(line[name]), (line["queue_name"], name)
    totals = {row["queue_id"]: row for row in body["totals"]}
    # Only channels with activity, in the order channels are declared.
    assert list(totals[world.queue_a]["by_channel"]) == ["chat", "voice", "walk_in"]
    names = ("arrived", "answered", "abandoned", "completed", "asa_s", "first_responses")
    assert _split(totals[world.queue_a], *names) == {
        "chat": (1, 1, 0, 1, 50.0, 1),
        "voice": (2, 1, 1, 0, 80.0, 0),
        "walk_in": (1, 0, 1, 0, None, 0),
    }
    assert _split(totals[world.queue_b], *names) == {
        "voice": (1, 1, 0, 1, 15.0, 0),
        "video": (1, 1, 0, 1, 40.0, 0),
    }
    # Ratios are each channel's own, not shares of the line's.
    voice_a = totals[world.queue_a]["by_channel"]["voice"]
    assert (voice_a["service_level"], voice_a["abandon_rate"]) == (0.0, 0.5)


async def test_the_agent_split_by_channel_adds_up_to_every_line(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "agents", **DAY)
    body = response.json()
    for line in _lines(body):
        for name in AGENT_COUNTS:
            parts = [figures[name] for figures in line["by_channel"].values()]
            assert sum(parts) == pytest.approx(line[name]), (line["agent_name"], name)
    totals = {row["agent_id"]: row for row in body["totals"]}
    assert _split(totals[world.ann], "answered", "handled", "aht_s") == {
        "chat": (1, 1, 150.0),
        "voice": (1, 0, None),
        "video": (1, 1, 380.0),
    }
    assert _split(totals[world.bob], "answered", "handled", "aht_s") == {"voice": (1, 1, 385.0)}


async def test_a_channel_filter_narrows_the_whole_queue_report(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", channel="voice", **DAY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["channel"] == "voice"
    totals = {row["queue_id"]: row for row in body["totals"]}
    a, b = totals[world.queue_a], totals[world.queue_b]
    assert (a["arrived"], a["answered"], a["abandoned"], a["asa_s"]) == (2, 1, 1, 80.0)
    assert (b["arrived"], b["answered"], b["completed"], b["asa_s"]) == (1, 1, 1, 15.0)
    assert {channel for line in _lines(body) for channel in line["by_channel"]} == {"voice"}


async def test_a_channel_filter_narrows_the_agent_report(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "agents", channel="video", **DAY)
    rows = [(row["agent_id"], row["answered"], row["handled"]) for row in response.json()["totals"]]
    assert rows == [(world.ann, 1, 1)]


async def test_a_channel_with_no_activity_gives_an_empty_report(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    for name in ("queues", "agents"):
        response = await get_report(client, supervisor, name, channel="email", **DAY)
        assert response.status_code == 200, name
        assert (response.json()["intervals"], response.json()["totals"]) == ([], []), name


async def test_the_other_reports_take_the_channel_filter_too(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    chats = await get_report(client, supervisor, "satisfaction", channel="chat", **DAY)
    assert chats.json()["channel"] == "chat"
    # x1, the chat, was rated 5; the calls x4 (3) and x5 (4) are left out.
    assert (chats.json()["overall"]["count"], chats.json()["overall"]["average"]) == (1, 5.0)
    calls = await get_report(client, supervisor, "satisfaction", channel="video", **DAY)
    assert calls.json()["overall"]["distribution"]["4"] == 1
    for name in ("dispositions", "topics"):
        response = await get_report(client, supervisor, name, channel="walk_in", **DAY)
        assert response.status_code == 200, name
        assert response.json()["channel"] == "walk_in", name


async def test_an_unknown_channel_is_422_naming_it(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    for name in REPORTS:
        response = await get_report(client, supervisor, name, channel="fax")
        assert response.status_code == 422, name
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == ["query.channel"], name


@pytest.fixture
async def calls(app: FastAPI) -> tuple[str, str, dict[str, str]]:
    """Queue "Phones" (threshold 30 s) and agent Cy, with two voice calls and a video call:

    560  y1 (voice) arrives;  570  Cy accepts it (wait 10);  605  it connects (wait 45)
    580  y2 (voice) arrives;  690  y1 completed, y2 offered;  700  Cy accepts y2 (wait 120);
         y2 never connects and is completed at 720 (the caller hung up before it connected)
    730  y3 (video) arrives;  735  Cy accepts it (wait 5);  760  it connects (wait 30)
    """
    queue = await stored_queue(app, "Phones", 30)
    agent = await stored_agent(app, "cy")
    y = {n: str(uuid.uuid4()) for n in (1, 2, 3)}
    run = StoredRun(app)
    config = QueueConfig(QueueId(queue), sl_threshold_s=30.0, offer_timeout_s=3600.0, wrap_up_s=0)
    await run.do(-600, c.UpsertQueue(config))
    await run.do(-600, c.UpsertAgent(agent_config(agent, {})))
    await run.do(-600, c.SetAgentState(AgentId(agent), AgentState.AVAILABLE))

    def arrive(n: int, channel: Channel) -> c.Arrive:
        return c.Arrive(InteractionId(y[n]), channel, queue_id=QueueId(queue))

    async def connect(n: int, at_s: float, wait_s: float) -> None:
        await call_answered(app, y[n], at_s, queue_id=queue, agent_id=agent, wait_s=wait_s)

    await run.do(560, arrive(1, Channel.VOICE))
    await run.do(570, c.Accept(InteractionId(y[1]), AgentId(agent)))
    await run.do(580, arrive(2, Channel.VOICE))
    await connect(1, 605, 45)
    await run.do(690, c.Complete(InteractionId(y[1])))
    await run.do(700, c.Accept(InteractionId(y[2]), AgentId(agent)))
    await run.do(720, c.Complete(InteractionId(y[2])))
    await run.do(730, arrive(3, Channel.VIDEO))
    await run.do(735, c.Accept(InteractionId(y[3]), AgentId(agent)))
    await connect(3, 760, 30)
    return queue, agent, y


async def test_a_calls_wait_runs_until_it_connects_not_until_it_is_accepted(
    client: httpx.AsyncClient, supervisor: Caller, calls: tuple[str, str, dict[str, str]]
) -> None:
    response = await get_report(client, supervisor, "queues", **DAY)
    (total,) = response.json()["totals"]
    voice = total["by_channel"]["voice"]
    # y1 waited 45 s, not the 10 s until Cy accepted: after the 30 s threshold.
    assert (voice["answered"], voice["asa_s"], voice["answered_within_threshold"]) == (1, 45.0, 0)
    assert voice["service_level"] == 0.0
    video = total["by_channel"]["video"]
    assert (video["answered"], video["asa_s"], video["answered_within_threshold"]) == (1, 30.0, 1)


async def test_a_call_counts_as_answered_in_the_interval_it_connected(
    client: httpx.AsyncClient, supervisor: Caller, calls: tuple[str, str, dict[str, str]]
) -> None:
    response = await get_report(client, supervisor, "queues", channel="voice", **DAY)
    rows = {
        row["interval_start"][11:16]: (row["arrived"], row["answered"])
        for row in response.json()["intervals"]
    }
    # y1 was accepted at 08:59:30 and connected at 09:00:05.
    assert rows == {"08:45": (2, 0), "09:00": (0, 1)}


async def test_an_accepted_call_that_never_connects_is_not_answered(
    client: httpx.AsyncClient, supervisor: Caller, calls: tuple[str, str, dict[str, str]]
) -> None:
    queues = await get_report(client, supervisor, "queues", channel="voice", **DAY)
    (voice,) = queues.json()["totals"]
    # y2 was accepted but never connected: arrived and completed, not answered.
    assert (voice["arrived"], voice["answered"], voice["completed"]) == (2, 1, 2)
    agents = await get_report(client, supervisor, "agents", **DAY)
    (cy,) = agents.json()["totals"]
    assert _split(cy, "answered", "handled") == {"voice": (1, 2), "video": (1, 0)}
