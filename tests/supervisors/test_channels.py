"""The live view split by channel: per-channel figures add up to the queue's, a call is
answered when it connects, and the snapshot's `by_channel` lists the channels in use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.interactions.counted import ABANDONED, ANSWERED, COMPLETED, QUEUED
from app.routing.model import Channel
from app.routing.stats import Counts
from app.supervisors import figures, repository
from app.supervisors.repository import AgentDayTotals, EventTotals
from tests.conftest import Caller, CallerFactory
from tests.supervisors.conftest import EventMaker
from tests.world import add_agent, add_queue, resources_of

API = "/api/v1"
DAY_START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
WINDOW_START = DAY_START + timedelta(hours=10)
IN_WINDOW = WINDOW_START + timedelta(minutes=5)
EARLIER_TODAY = DAY_START + timedelta(hours=3)
ACCEPTED = "interaction.accepted"
CALL_ANSWERED = "call.answered"
VOICE = Channel.VOICE


def _row(
    kind: str, channel: str, day: tuple[Any, ...], window: tuple[Any, ...] | None = None
) -> EventTotals:
    return EventTotals(kind, "q1", channel, day, window or (0, 0.0, 0, 0, 0.0))


ROWS = [
    _row(QUEUED, "chat", (4, 0.0, 0, 0, 0.0), (2, 0.0, 0, 0, 0.0)),
    _row(QUEUED, "voice", (3, 0.0, 0, 0, 0.0)),
    _row(ANSWERED, "chat", (3, 90.0, 2, 0, 0.0), (1, 10.0, 1, 0, 0.0)),
    _row(ANSWERED, "voice", (2, 200.0, 1, 0, 0.0)),
    _row(ABANDONED, "voice", (1, 150.0, 0, 1, 0.0)),
    _row(COMPLETED, "chat", (2, 0.0, 0, 0, 600.0)),
    _row(COMPLETED, "voice", (1, 0.0, 0, 0, 240.0)),
]


async def _totals(app: FastAPI, thresholds: dict[str, float]) -> list[EventTotals]:
    async with resources_of(app).read_sessions() as session:
        return await repository.event_totals(
            session,
            day_start=DAY_START,
            window_start=WINDOW_START,
            thresholds_s=thresholds,
            default_threshold_s=60.0,
        )


# --- folding (pure) --------------------------------------------------------------------------


def test_per_channel_counts_add_up_to_the_queue_counts() -> None:
    by_channel = figures.counts_by_queue_channel(ROWS, window=False)
    summed = figures.sum_counts(by_channel.values())
    assert summed == figures.counts_by_queue(ROWS, window=False)["q1"]
    assert by_channel[("q1", "voice")] == Counts(
        arrived=3,
        answered=2,
        answered_within=1,
        answered_wait_s=200.0,
        abandoned=1,
        abandoned_after=1,
        abandoned_wait_s=150.0,
        completed=1,
        handle_s=240.0,
    )


def test_the_window_fold_reads_the_window_sums() -> None:
    window = figures.counts_by_queue_channel(ROWS, window=True)
    assert window[("q1", "chat")].arrived == 2
    assert window[("q1", "chat")].answered_wait_s == 10.0
    assert window[("q1", "voice")] == Counts()


def test_the_split_lists_channels_with_activity_or_a_line_in_channel_order() -> None:
    day = figures.by_queue(figures.counts_by_queue_channel(ROWS, window=False))["q1"]
    now = {"email": {"waiting": 2, "offered": 1, "oldest_wait_s": 40.0}}
    split = figures.channel_split("q1", now, day, {})
    assert list(split) == ["chat", "voice", "email"]
    assert split["email"]["waiting"] == 2
    assert split["email"]["offering"] == 1
    assert split["email"]["today"]["arrived"] == 0
    assert split["voice"]["waiting"] == 0
    assert split["voice"]["oldest_wait_s"] is None
    assert split["voice"]["today"]["asa_s"] == 100.0
    assert split["voice"]["today"]["service_level"] == 0.3333  # 1 / (2 + 1)


def test_a_channel_quiet_today_with_nothing_waiting_is_left_out() -> None:
    day = {"chat": Counts(arrived=1), "video": Counts()}
    assert list(figures.channel_split("q1", {}, day, {})) == ["chat"]


def test_centre_totals_sum_the_queues_and_keep_the_longest_wait() -> None:
    queues = [
        {
            "waiting": 3,
            "offering": 1,
            "oldest_wait_s": 80.0,
            "by_channel": {
                "chat": {"waiting": 2, "offering": 1, "oldest_wait_s": 80.0},
                "voice": {"waiting": 1, "offering": 0, "oldest_wait_s": 20.0},
            },
        },
        {
            "waiting": 1,
            "offering": 0,
            "oldest_wait_s": 95.0,
            "by_channel": {"voice": {"waiting": 1, "offering": 0, "oldest_wait_s": 95.0}},
        },
    ]
    day = {("q1", "chat"): Counts(arrived=5, answered=2), ("q2", "voice"): Counts(arrived=1)}
    totals = figures.centre_totals(queues, day, {})
    assert (totals["waiting"], totals["offering"], totals["oldest_wait_s"]) == (4, 1, 95.0)
    assert totals["today"]["arrived"] == 6
    assert totals["by_channel"]["voice"]["waiting"] == 2
    assert totals["by_channel"]["voice"]["oldest_wait_s"] == 95.0
    assert totals["by_channel"]["chat"]["today"]["answered"] == 2
    assert totals["last_30_min"]["arrived"] == 0


def test_an_agents_day_adds_up_its_channels() -> None:
    days = figures.agent_days(
        [
            AgentDayTotals("a1", "voice", 2, 500.0),
            AgentDayTotals("a1", "chat", 3, 700.0),
            AgentDayTotals("a2", "chat", 1, 60.0),
        ]
    )
    assert days["a1"] == figures.AgentDay(5, 1200.0, {"chat": 3, "voice": 2})
    assert list(days["a1"].by_channel) == ["chat", "voice"]
    assert days["a2"].completed == 1


# --- the aggregates over the routing history -------------------------------------------------


async def test_per_channel_figures_from_the_history_add_up_to_the_queue(
    app: FastAPI, stored_event: EventMaker
) -> None:
    queue_id = await add_queue(app, "Claims", {"ui": 1})
    for channel, wait_s in ((Channel.CHAT, 20.0), (Channel.EMAIL, 3000.0)):
        moved = await stored_event(QUEUED, queue_id, IN_WINDOW, channel=channel)
        await stored_event(ACCEPTED, queue_id, IN_WINDOW, moved, wait_s=wait_s)
    call = await stored_event(QUEUED, queue_id, EARLIER_TODAY, channel=VOICE)
    await stored_event(CALL_ANSWERED, queue_id, EARLIER_TODAY, call, wait_s=50.0)
    await stored_event(ABANDONED, queue_id, IN_WINDOW, channel=VOICE, wait_s=90.0)

    totals = await _totals(app, {str(queue_id): 60.0})

    for window in (False, True):
        by_channel = figures.counts_by_queue_channel(totals, window=window)
        by_queue = figures.counts_by_queue(totals, window=window)
        assert figures.sum_counts(by_channel.values()) == by_queue[str(queue_id)]
    day = figures.counts_by_queue_channel(totals, window=False)
    assert sorted(channel for _, channel in day) == ["chat", "email", "voice"]
    assert day[(str(queue_id), "voice")].answered_within == 1
    assert day[(str(queue_id), "voice")].abandoned_after == 1
    assert day[(str(queue_id), "email")].answered_within == 0


async def test_a_voice_calls_wait_runs_until_it_connects_not_until_accepted(
    app: FastAPI, stored_event: EventMaker
) -> None:
    queue_id = await add_queue(app, "Claims line", {"ui": 1})
    call = await stored_event(QUEUED, queue_id, IN_WINDOW, channel=VOICE)
    await stored_event(ACCEPTED, queue_id, IN_WINDOW, call, wait_s=5.0)
    await stored_event(CALL_ANSWERED, queue_id, IN_WINDOW, call, wait_s=75.0)
    # Accepted but never connected: not answered.
    lost = await stored_event(QUEUED, queue_id, IN_WINDOW, channel=VOICE)
    await stored_event(ACCEPTED, queue_id, IN_WINDOW, lost, wait_s=8.0)

    totals = await _totals(app, {str(queue_id): 60.0})

    voice = figures.counts_by_queue_channel(totals, window=False)[(str(queue_id), "voice")]
    assert (voice.arrived, voice.answered) == (2, 1)
    assert voice.answered_wait_s == 75.0
    assert voice.answered_within == 0  # 75 s is past the 60 s threshold


# --- the snapshot ----------------------------------------------------------------------------


@pytest.fixture
async def integrator(integrator_caller: CallerFactory) -> Caller:
    """An integrator (a PBX, a CRM) that posts interactions."""
    return await integrator_caller("PBX")


async def _create(client: httpx.AsyncClient, caller: Caller, channel: str, queue: str) -> None:
    response = await client.post(
        f"{API}/interactions", json={"channel": channel, "queue": queue}, headers=caller.headers
    )
    assert response.status_code == 201, response.text


async def _snapshot(client: httpx.AsyncClient, supervisor: Caller) -> dict[str, Any]:
    response = await client.get(f"{API}/supervisor/snapshot", headers=supervisor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_the_snapshot_splits_each_queue_and_the_centre_by_channel(
    app: FastAPI,
    client: httpx.AsyncClient,
    supervisor: Caller,
    integrator: Caller,
    stored_event: EventMaker,
) -> None:
    queue_id = await add_queue(app, "Benefits", {"ui": 1})
    # Earlier today an email was answered; nothing of it waits now.
    await stored_event(COMPLETED, queue_id, clock.utcnow(), channel=Channel.EMAIL, handle_s=60.0)
    for channel in ("chat", "voice", "voice"):
        await _create(client, integrator, channel, "Benefits")

    snapshot = await _snapshot(client, supervisor)

    queue = next(q for q in snapshot["queues"] if q["queue_id"] == str(queue_id))
    split = queue["by_channel"]
    assert list(split) == ["chat", "voice", "email"]
    assert {channel: part["waiting"] for channel, part in split.items()} == {
        "chat": 1,
        "voice": 2,
        "email": 0,
    }
    assert sum(part["waiting"] for part in split.values()) == queue["waiting"] == 3
    assert sum(part["today"]["arrived"] for part in split.values()) == queue["today"]["arrived"]
    assert split["voice"]["oldest_wait_s"] is not None
    assert split["email"]["today"]["completed"] == 1
    assert set(split["chat"]) == {"waiting", "offering", "oldest_wait_s", "today", "last_30_min"}
    totals = snapshot["totals"]
    assert totals["waiting"] == 3
    assert totals["by_channel"]["voice"]["waiting"] == 2
    assert totals["by_channel"]["email"]["today"]["completed"] == 1


async def test_an_offered_chat_counts_as_offering_in_its_channel_and_the_parts_add_up(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, integrator: Caller
) -> None:
    queue_id = await add_queue(app, "Benefits", {"ui": 1})
    await add_agent(app, "ana", {"ui": 5})
    for channel in ("chat", "voice", "email"):
        await _create(client, integrator, channel, "Benefits")

    snapshot = await _snapshot(client, supervisor)

    queue = next(q for q in snapshot["queues"] if q["queue_id"] == str(queue_id))
    split = queue["by_channel"]
    assert (split["chat"]["waiting"], split["chat"]["offering"]) == (0, 1)
    for figure in ("waiting", "offering"):
        assert sum(part[figure] for part in split.values()) == queue[figure]
    assert max(part["oldest_wait_s"] for part in split.values()) == queue["oldest_wait_s"]


async def test_a_quiet_queue_has_no_channels(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    queue_id = await add_queue(app, "Quiet", {"ui": 1})
    snapshot = await _snapshot(client, supervisor)
    queue = next(q for q in snapshot["queues"] if q["queue_id"] == str(queue_id))
    assert queue["by_channel"] == {}


async def test_an_agents_handled_today_is_split_by_channel(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, stored_event: EventMaker
) -> None:
    queue_id = await add_queue(app, "Claims", {"ui": 1})
    ana = await add_agent(app, "ana", {"ui": 5})
    now = clock.utcnow()
    for channel in (Channel.CHAT, Channel.CHAT, VOICE):
        await stored_event(
            COMPLETED, queue_id, now, channel=channel, agent_id=ana.id, handle_s=120.0
        )

    snapshot = await _snapshot(client, supervisor)

    row = next(a for a in snapshot["agents"] if a["agent_id"] == ana.id)
    assert row["handled_today"] == 3
    assert row["handled_today_by_channel"] == {"chat": 2, "voice": 1}
    assert row["aht_today_s"] == 120.0
