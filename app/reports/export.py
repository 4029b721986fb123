"""Reports as CSV downloads: one header row, one row per figure line, safe for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fastapi.responses import Response

from app.reports.periods import Period
from app.reports.schemas import (
    AgentInterval,
    AgentReport,
    DispositionReport,
    QueueInterval,
    QueueReport,
    SatisfactionReport,
    TopicReport,
)
from app.routing.model import Channel

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

QUEUE_COLUMNS = (
    "interval_start",
    "queue_id",
    "queue_name",
    "threshold_s",
    "arrived",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "abandoned_after_threshold",
    "completed",
    "handle_s",
    "service_level",
    "asa_s",
    "abandon_rate",
    "aht_s",
    "first_responses",
    "avg_first_response_s",
    # Added last so that the columns before it keep their places.
    "channel",
)
AGENT_COLUMNS = (
    "interval_start",
    "agent_id",
    "agent_name",
    "answered",
    "handled",
    "handle_s",
    "aht_s",
    "channel",
)
ALL_CHANNELS = "all"
"""The `channel` cell of a row over every channel."""
DISPOSITION_COLUMNS = ("queue_id", "queue_name", "disposition_id", "code", "label", "count")
SATISFACTION_COLUMNS = (
    "id",
    "name",
    "count",
    "average",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
)
TOPIC_COLUMNS = ("day", "topic", "count")


def csv_response(
    name: str, period: Period, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> Response:
    """A CSV attachment named after the report and its local dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    days = period.days()
    filename = f"switchboard-{name}-{days[0].isoformat()}-to-{days[-1].isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def queue_rows(report: QueueReport) -> list[dict[str, Any]]:
    """Per queue interval, a row over every channel, then one per channel with activity."""
    return _split_rows(report.channel, report.intervals)


def agent_rows(report: AgentReport) -> list[dict[str, Any]]:
    """Per agent interval, a row over every channel, then one per channel with activity."""
    return _split_rows(report.channel, report.intervals)


def _split_rows(
    channel: Channel | None, lines: Sequence[QueueInterval | AgentInterval]
) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        whole = line.model_dump(exclude={"by_channel"})
        if channel is not None:
            # Narrowed to one channel: the line is that channel's, nothing to split.
            rows.append({**whole, "channel": channel.value})
            continue
        rows.append({**whole, "channel": ALL_CHANNELS})
        for one, figures in line.by_channel.items():
            rows.append({**whole, **figures.model_dump(), "channel": one.value})
    return rows


def disposition_rows(report: DispositionReport) -> list[dict[str, Any]]:
    """One CSV row per queue and disposition."""
    return [row.model_dump() for row in report.rows]


def satisfaction_rows(report: SatisfactionReport) -> list[dict[str, Any]]:
    """One CSV row per queue or agent, then the overall row (id empty, name "All")."""
    rows = []
    for figures in [*report.rows, report.overall]:
        row = figures.model_dump(exclude={"distribution"})
        row.update({f"rating_{key}": value for key, value in figures.distribution.items()})
        rows.append(row)
    return rows


def topic_rows(report: TopicReport) -> list[dict[str, Any]]:
    """One CSV row per day and topic (long form, easy to pivot)."""
    return [
        {"day": day, "topic": trend.topic, "count": trend.counts[index]}
        for index, day in enumerate(report.days)
        for trend in report.topics
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return str(value)
