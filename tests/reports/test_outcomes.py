"""Dispositions, satisfaction and topic reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from app.interactions.models import Disposition, Interaction, InteractionDisposition
from app.routing.model import Channel, InteractionState
from tests.conftest import Caller
from tests.reports.conftest import World, get_report
from tests.reports.support import at, resources_of

DAY = {"from_": "2026-11-23", "to": "2026-11-23"}


async def _record_dispositions(app: FastAPI, world: World) -> dict[str, str]:
    async with resources_of(app).sessions() as session, session.begin():
        reviewed = Disposition(code="work_search_reviewed", label="Work search reviewed")
        payment = Disposition(code="payment_issue", label="Payment issue")
        session.add_all([reviewed, payment])
        await session.flush()
        for n, disposition, when in (
            (1, reviewed, 200),
            (4, reviewed, 700),
            (4, payment, 700),
            (5, payment, 1000),
        ):
            session.add(
                InteractionDisposition(
                    interaction_id=uuid.UUID(world.x[n]),
                    disposition_id=disposition.id,
                    recorded_at=at(when),
                )
            )
        return {"reviewed": str(reviewed.id), "payment": str(payment.id)}


async def test_dispositions_are_counted_per_queue_and_in_all(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    ids = await _record_dispositions(app, world)
    response = await get_report(client, supervisor, "dispositions", **DAY)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {(row["queue_id"], row["code"]): row["count"] for row in body["rows"]}
    # x4 was transferred: its dispositions count in the queue where it ended (B).
    assert rows == {
        (world.queue_a, "work_search_reviewed"): 1,
        (world.queue_b, "work_search_reviewed"): 1,
        (world.queue_b, "payment_issue"): 2,
    }
    totals = {row["disposition_id"]: row["count"] for row in body["totals"]}
    assert totals == {ids["reviewed"]: 2, ids["payment"]: 2}


async def test_a_disposition_outside_the_period_is_not_counted(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    await _record_dispositions(app, world)
    response = await get_report(
        client, supervisor, "dispositions", from_="2026-11-23T09:00:00Z", to="2026-11-23T10:00Z"
    )
    assert sum(row["count"] for row in response.json()["totals"]) == 3


async def test_satisfaction_by_queue_gives_count_average_and_distribution(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "satisfaction", **DAY)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {row["id"]: row for row in body["rows"]}
    assert (rows[world.queue_a]["count"], rows[world.queue_a]["average"]) == (1, 5.0)
    assert (rows[world.queue_b]["count"], rows[world.queue_b]["average"]) == (2, 3.5)
    assert rows[world.queue_b]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}
    assert (body["overall"]["count"], body["overall"]["average"]) == (3, 4.0)


async def test_satisfaction_by_agent_credits_the_agent_who_ended_it(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "satisfaction", by="agent", **DAY)
    rows = {row["name"]: (row["count"], row["average"]) for row in response.json()["rows"]}
    assert rows == {"Ann": (2, 4.5), "Bob": (1, 3.0)}


async def _interaction(app: FastAPI, topic: str, created_at: datetime) -> None:
    async with resources_of(app).sessions() as session, session.begin():
        session.add(
            Interaction(
                channel=Channel.CHAT,
                state=InteractionState.COMPLETED,
                topic=topic,
                created_at=created_at,
            )
        )


async def test_topics_trend_per_local_day(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    late_on_23rd = datetime(2026, 11, 24, 5, 50, tzinfo=UTC)  # 23:50 in Chicago
    early_on_24th = datetime(2026, 11, 24, 6, 10, tzinfo=UTC)  # 00:10 in Chicago
    for topic, when, times in (
        ("weekly certification", late_on_23rd, 3),
        ("weekly certification", early_on_24th, 1),
        ("password reset", early_on_24th, 2),
        ("1099-G", late_on_23rd, 1),
    ):
        for _ in range(times):
            await _interaction(app, topic, when)
    response = await get_report(
        client,
        supervisor,
        "topics",
        from_="2026-11-23",
        to="2026-11-24",
        tz="America/Chicago",
        limit="2",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["days"] == ["2026-11-23", "2026-11-24"]
    assert [(t["topic"], t["total"], t["counts"]) for t in body["topics"]] == [
        ("weekly certification", 4, [3, 1]),
        ("password reset", 2, [0, 2]),
    ]
