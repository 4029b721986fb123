"""The live view's figures against hand-computed cases, and the alerts they raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from app.supervisors import figures, repository
from app.supervisors.figures import AlertLimits
from app.supervisors.snapshot import day_start_in
from tests.supervisors.conftest import EventMaker
from tests.world import add_queue, resources_of

DAY_START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
WINDOW_START = DAY_START + timedelta(hours=10)
IN_WINDOW = WINDOW_START + timedelta(minutes=5)
EARLIER_TODAY = DAY_START + timedelta(hours=3)
YESTERDAY = DAY_START - timedelta(hours=2)


async def _figures(app: FastAPI, thresholds: dict[str, float]) -> dict[str, Any]:
    async with resources_of(app).read_sessions() as session:
        totals = await repository.event_totals(
            session,
            day_start=DAY_START,
            window_start=WINDOW_START,
            thresholds_s=thresholds,
            default_threshold_s=60.0,
        )
    day = figures.counts_by_queue(totals, window=False)
    window = figures.counts_by_queue(totals, window=True)
    return {
        queue_id: {
            "today": figures.period_figures(queue_id, day.get(queue_id)),
            "last_30_min": figures.period_figures(queue_id, window.get(queue_id)),
        }
        for queue_id in thresholds
    }


async def test_figures_count_answers_and_abandons_against_each_queue_threshold(
    app: FastAPI, stored_event: EventMaker
) -> None:
    queue_a = await add_queue(app, "Claims", {"ui": 1}, service_level_threshold_s=60)
    queue_b = await add_queue(app, "Spanish", {"es": 1}, service_level_threshold_s=20)
    for _ in range(5):
        await stored_event("interaction.queued", queue_a, IN_WINDOW)
    await stored_event("interaction.queued", queue_a, EARLIER_TODAY)
    await stored_event("interaction.queued", queue_a, YESTERDAY)
    for wait_s in (30.0, 90.0, 60.0):  # within, after, exactly at the threshold (within)
        await stored_event("interaction.accepted", queue_a, IN_WINDOW, wait_s=wait_s)
    await stored_event("interaction.accepted", queue_a, YESTERDAY, wait_s=5.0)
    await stored_event("interaction.abandoned", queue_a, IN_WINDOW, wait_s=20.0)  # before
    await stored_event("interaction.abandoned", queue_a, IN_WINDOW, wait_s=120.0)  # after
    for handle_s in (300.0, 500.0):
        await stored_event("interaction.completed", queue_a, IN_WINDOW, handle_s=handle_s)
    # A transfer: answered in Claims early today, handed to Spanish, answered there again.
    moved = await stored_event("interaction.accepted", queue_a, EARLIER_TODAY, wait_s=10.0)
    await stored_event("interaction.transferred", queue_a, IN_WINDOW, moved)
    await stored_event("interaction.queued", queue_b, IN_WINDOW, moved)
    await stored_event("interaction.accepted", queue_b, IN_WINDOW, moved, wait_s=25.0)

    found = await _figures(app, {str(queue_a): 60.0, str(queue_b): 20.0})

    claims = found[str(queue_a)]
    # Today: answered 30, 90, 60, 10 (3 within 60 s); abandoned 20 and 120 (1 after).
    assert claims["today"] == {
        "arrived": 6,
        "answered": 4,
        "abandoned": 2,
        "completed": 2,
        "asa_s": 47.5,
        "service_level": 0.6,  # 3 / (4 + 1)
        "abandon_rate": 0.3333,  # 2 / (4 + 2)
        "aht_s": 400.0,
    }
    # The last 30 minutes leave out the answer of the transferred one (earlier today).
    assert claims["last_30_min"] == {
        "arrived": 5,
        "answered": 3,
        "abandoned": 2,
        "completed": 2,
        "asa_s": 60.0,
        "service_level": 0.5,  # 2 / (3 + 1)
        "abandon_rate": 0.4,
        "aht_s": 400.0,
    }
    spanish = found[str(queue_b)]
    # 25 s is within Claims' 60 s but after Spanish's own 20 s threshold.
    assert spanish["today"]["arrived"] == 1
    assert spanish["today"]["answered"] == 1
    assert spanish["today"]["service_level"] == 0.0
    assert spanish["today"]["asa_s"] == 25.0


async def test_figures_of_a_quiet_queue_are_zero_counts_and_no_rates(app: FastAPI) -> None:
    queue_id = await add_queue(app, "Quiet", {"ui": 1})
    found = await _figures(app, {str(queue_id): 60.0})
    assert found[str(queue_id)]["today"] == {
        "arrived": 0,
        "answered": 0,
        "abandoned": 0,
        "completed": 0,
        "asa_s": None,
        "service_level": None,
        "abandon_rate": None,
        "aht_s": None,
    }


def _queue(**changes: Any) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "queue_id": "q1",
        "name": "Claims",
        "waiting": 0,
        "oldest_wait_s": None,
        "eligible_agents": 2,
        "available_agents": 1,
        "today": {"service_level": None},
        "last_30_min": {"service_level": None},
    }
    queue.update(changes)
    return queue


LIMITS = AlertLimits(min_service_level=0.8, max_oldest_wait_s=60.0, max_waiting=5)


def test_no_alert_for_a_queue_within_its_limits() -> None:
    queue = _queue(waiting=2, oldest_wait_s=30.0, last_30_min={"service_level": 0.9})
    assert figures.queue_alerts(queue, LIMITS) == []


def test_alerts_for_service_level_oldest_wait_line_length_and_no_agents() -> None:
    queue = _queue(
        waiting=6, oldest_wait_s=61.0, available_agents=0, last_30_min={"service_level": 0.7}
    )
    codes = [alert["code"] for alert in figures.queue_alerts(queue, LIMITS)]
    assert codes == [
        figures.SERVICE_LEVEL_LOW,
        figures.OLDEST_WAIT_HIGH,
        figures.WAITING_HIGH,
        figures.NO_AGENTS,
    ]


def test_service_level_alert_falls_back_to_the_day_when_the_window_is_empty() -> None:
    queue = _queue(today={"service_level": 0.5})
    alerts = figures.queue_alerts(queue, LIMITS)
    assert [alert["code"] for alert in alerts] == [figures.SERVICE_LEVEL_LOW]
    assert alerts[0]["value"] == 0.5
    assert alerts[0]["limit"] == 0.8


def test_limits_default_to_the_queue_target_and_threshold() -> None:
    settings = repository.QueueSettings("q1", "Claims", 45.0, 0.9, None, None, None)
    assert figures.limits_of(settings) == AlertLimits(0.9, 45.0, None)
    ruled = repository.QueueSettings("q1", "Claims", 45.0, 0.9, 0.7, 120.0, 8)
    assert figures.limits_of(ruled) == AlertLimits(0.7, 120.0, 8)


def test_today_starts_at_local_midnight_of_the_configured_zone() -> None:
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC).timestamp()  # 22:00 on Nov 30 in Chicago
    assert day_start_in(ZoneInfo("America/Chicago"), now) == datetime(
        2026, 11, 30, 6, 0, tzinfo=UTC
    )
    assert day_start_in(ZoneInfo("UTC"), now) == datetime(2026, 12, 1, tzinfo=UTC)
