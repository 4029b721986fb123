"""Queue and agent interval reports on the hand-computed history of conftest.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Caller
from tests.reports.conftest import World, get_report

DAY = {"from_": "2026-11-23", "to": "2026-11-23"}


def _by_queue(rows: list[dict[str, Any]], world: World) -> dict[tuple[str, str], dict[str, Any]]:
    names = {world.queue_a: "A", world.queue_b: "B"}
    return {(names[row["queue_id"]], row["interval_start"]): row for row in rows}


def _figures(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[name] for name in names)


COUNTS = (
    "arrived",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "abandoned_after_threshold",
    "completed",
)


async def test_queue_intervals_match_the_hand_computed_figures(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", **DAY)
    assert response.status_code == 200, response.text
    rows = _by_queue(response.json()["intervals"], world)
    assert set(rows) == {
        ("A", "2026-11-23T08:45:00Z"),
        ("B", "2026-11-23T08:45:00Z"),
        ("B", "2026-11-23T09:00:00Z"),
    }
    a, b1, b2 = (rows[key] for key in sorted(rows))
    # A: x1 within, x4 after; x3 abandoned before, x2 after the threshold; x1 completed.
    assert _figures(a, *COUNTS) == (4, 2, 1, 2, 1, 1)
    assert a["service_level"] == 0.3333
    assert a["asa_s"] == pytest.approx(65.0)
    assert a["abandon_rate"] == pytest.approx(0.5)
    assert a["aht_s"] == pytest.approx(150.0)
    assert (a["first_responses"], a["avg_first_response_s"]) == (1, pytest.approx(80.0))
    # B before 09:00: x4 arrived by transfer and was answered within 20 s; x5 arrived.
    assert _figures(b1, *COUNTS) == (2, 1, 1, 0, 0, 0)
    assert (b1["service_level"], b1["asa_s"], b1["aht_s"]) == (1.0, pytest.approx(15.0), None)
    # B from 09:00: x5 answered after 40 s, x4 (385 s) and x5 (380 s) completed.
    assert _figures(b2, *COUNTS) == (0, 1, 0, 0, 0, 2)
    assert (b2["service_level"], b2["asa_s"]) == (0.0, pytest.approx(40.0))
    assert b2["aht_s"] == pytest.approx(382.5)


async def test_a_transfer_counts_once_in_each_queue_it_waited_in(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", **DAY)
    totals = {row["queue_id"]: row for row in response.json()["totals"]}
    a, b = totals[world.queue_a], totals[world.queue_b]
    assert (a["queue_name"], a["threshold_s"]) == ("Unemployment claims", 60.0)
    assert _figures(a, "arrived", "answered", "completed") == (4, 2, 1)
    assert _figures(b, "arrived", "answered", "answered_within_threshold", "completed") == (
        2,
        2,
        1,
        2,
    )
    assert (b["service_level"], b["asa_s"]) == (0.5, pytest.approx(27.5))


async def test_intervals_are_labelled_in_the_requested_zone(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(
        client, supervisor, "queues", tz="Asia/Kolkata", queue_id=world.queue_b, **DAY
    )
    assert response.status_code == 200, response.text
    body = response.json()
    starts = [row["interval_start"] for row in body["intervals"]]
    # 08:45 and 09:00 UTC are 14:15 and 14:30 in India (+05:30).
    assert starts == ["2026-11-23T14:15:00+05:30", "2026-11-23T14:30:00+05:30"]
    assert body["period"]["start"] == "2026-11-23T00:00:00+05:30"
    assert {row["queue_id"] for row in body["totals"]} == {world.queue_b}


async def test_a_local_day_holds_only_its_own_intervals(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    # 08:45-09:15 UTC is 00:45-01:15 on 23 November in Los Angeles: nothing on the 22nd.
    before = await get_report(
        client, supervisor, "queues", tz="America/Los_Angeles", from_="2026-11-22", to="2026-11-22"
    )
    assert before.json()["intervals"] == []
    on_day = await get_report(
        client, supervisor, "queues", tz="America/Los_Angeles", from_="2026-11-23", to="2026-11-23"
    )
    assert len(on_day.json()["intervals"]) == 3


async def test_an_instant_range_cuts_at_the_interval_boundary(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(
        client, supervisor, "queues", from_="2026-11-23T09:00:00Z", to="2026-11-23T10:00:00Z"
    )
    rows = response.json()["intervals"]
    assert [(row["queue_id"], row["answered"], row["completed"]) for row in rows] == [
        (world.queue_b, 1, 2)
    ]


async def test_agent_intervals_count_answers_and_completions_where_they_happened(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "agents", **DAY)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {
        (row["agent_name"], row["interval_start"][11:16]): _figures(
            row, "answered", "handled", "aht_s"
        )
        for row in body["intervals"]
    }
    assert rows == {
        ("Ann", "08:45"): (2, 1, 150.0),
        ("Bob", "08:45"): (1, 0, None),
        ("Ann", "09:00"): (1, 1, 380.0),
        ("Bob", "09:00"): (0, 1, 385.0),
    }
    totals = {row["agent_id"]: row for row in body["totals"]}
    assert _figures(totals[world.ann], "answered", "handled", "handle_s") == (3, 2, 530.0)
    assert "occupancy" not in totals[world.ann]


async def test_an_agent_filter_keeps_one_agent(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "agents", agent_id=world.bob, **DAY)
    assert {row["agent_id"] for row in response.json()["intervals"]} == {world.bob}
