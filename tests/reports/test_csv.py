"""Reports as CSV downloads."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from app.interactions.models import Interaction
from app.reports.export import AGENT_COLUMNS, QUEUE_COLUMNS
from app.routing.model import Channel, InteractionState
from tests.conftest import Caller
from tests.reports.conftest import World, get_report
from tests.reports.support import resources_of

DAY = {"from_": "2026-11-23", "to": "2026-11-23"}


def _table(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_queue_report_as_csv_has_a_row_per_interval_then_one_per_channel(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", format="csv", **DAY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="switchboard-queues-2026-11-23-to-2026-11-23.csv"'
    )
    header, *rows = _table(response)
    assert header == list(QUEUE_COLUMNS)
    # The columns reports had before the channel split keep their places.
    assert header[:3] == ["interval_start", "queue_id", "queue_name"]
    assert header[-2:] == ["avg_first_response_s", "channel"]
    # Sorted by interval, then queue name; each interval's "all" row, then its channels.
    lines = [dict(zip(header, row, strict=True)) for row in rows]
    assert [
        (line["interval_start"][11:16], line["queue_name"], line["channel"]) for line in lines
    ] == [
        ("08:45", "Paid leave", "all"),
        ("08:45", "Paid leave", "voice"),
        ("08:45", "Paid leave", "video"),
        ("08:45", "Unemployment claims", "all"),
        ("08:45", "Unemployment claims", "chat"),
        ("08:45", "Unemployment claims", "voice"),
        ("08:45", "Unemployment claims", "walk_in"),
        ("09:00", "Paid leave", "all"),
        ("09:00", "Paid leave", "voice"),
        ("09:00", "Paid leave", "video"),
    ]
    claims, voice = lines[3], lines[5]
    assert (claims["arrived"], claims["service_level"], claims["asa_s"]) == ("4", "0.3333", "65.0")
    # x2 and x4: one call answered after 80 s, one caller gone after 70 s.
    assert (voice["arrived"], voice["answered"], voice["abandoned"], voice["asa_s"]) == (
        "2",
        "1",
        "1",
        "80.0",
    )
    # An undefined figure (no completion yet, so no AHT) is an empty cell.
    assert lines[0]["aht_s"] == ""


async def test_a_csv_narrowed_to_one_channel_has_only_that_channels_rows(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    response = await get_report(client, supervisor, "queues", format="csv", channel="video", **DAY)
    header, *rows = _table(response)
    lines = [dict(zip(header, row, strict=True)) for row in rows]
    assert [
        (line["interval_start"][11:16], line["channel"], line["arrived"]) for line in lines
    ] == [
        ("08:45", "video", "1"),
        ("09:00", "video", "0"),
    ]


async def test_accept_text_csv_also_gives_csv(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    headers = {**supervisor.headers, "Accept": "text/csv"}
    response = await client.get(
        "/api/v1/reports/agents",
        params={"from": "2026-11-23", "to": "2026-11-24", "tz": "America/Chicago"},
        headers=headers,
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        "switchboard-agents-2026-11-23-to-2026-11-24.csv" in response.headers["content-disposition"]
    )
    header, *rows = _table(response)
    assert header == list(AGENT_COLUMNS)
    lines = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(line["interval_start"], line["agent_name"], line["channel"]) for line in lines] == [
        ("2026-11-23T02:45:00-06:00", "Ann", "all"),
        ("2026-11-23T02:45:00-06:00", "Ann", "chat"),
        ("2026-11-23T02:45:00-06:00", "Ann", "voice"),
        ("2026-11-23T02:45:00-06:00", "Bob", "all"),
        ("2026-11-23T02:45:00-06:00", "Bob", "voice"),
        ("2026-11-23T03:00:00-06:00", "Ann", "all"),
        ("2026-11-23T03:00:00-06:00", "Ann", "video"),
        ("2026-11-23T03:00:00-06:00", "Bob", "all"),
        ("2026-11-23T03:00:00-06:00", "Bob", "voice"),
    ]


async def test_every_report_downloads_as_csv(
    client: httpx.AsyncClient, supervisor: Caller, world: World
) -> None:
    first_columns = {
        "dispositions": "queue_id",
        "satisfaction": "id",
        "topics": "day",
    }
    for name, first_column in first_columns.items():
        response = await get_report(client, supervisor, name, format="csv", **DAY)
        assert response.status_code == 200, response.text
        assert _table(response)[0][0] == first_column, name


async def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    async with resources_of(app).sessions() as session, session.begin():
        session.add(
            Interaction(
                channel=Channel.EMAIL,
                state=InteractionState.QUEUED,
                topic='=HYPERLINK("http://evil.example")',
                created_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
            )
        )
    response = await get_report(client, supervisor, "topics", format="csv", **DAY)
    assert _table(response)[1] == ["2026-11-23", '\'=HYPERLINK("http://evil.example")', "1"]
