"""The SQL of reports: aggregates only, grouped by 15-minute interval and channel in the database.

Queue and agent figures come from the append-only event log as the figures count it
(`app.interactions.counted`): the events the routing engine emitted when it counted them,
except that a voice or video call is answered when it connects. The live view reads the
same rows, so both count alike. The other reports read the interactions table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Subquery, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.agents.models import Staff
from app.interactions.counted import ANSWERED, COMPLETED, counted_events
from app.interactions.models import (
    Disposition,
    Interaction,
    InteractionDisposition,
    InteractionEvent,
)
from app.queues.models import Queue
from app.routing.model import Channel


class interval_start(FunctionElement[int]):  # noqa: N801 - reads as the SQL function it is
    """Epoch seconds of the start of the 15-minute interval holding a timestamp column."""

    type = Integer()
    inherit_cache = True


class epoch_seconds(FunctionElement[float]):  # noqa: N801
    """A timestamp column as (fractional) seconds since the Unix epoch."""

    type = Float()
    inherit_cache = True


@compiles(interval_start)
def _interval_start_default(element: interval_start, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(floor(extract(epoch from {column}) / 900) * 900)"


@compiles(interval_start, "sqlite")
def _interval_start_sqlite(element: interval_start, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; cutting it to the minute is exact,
    # where strftime('%s') of the full text would round sub-millisecond times near a boundary.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', substr({column}, 1, 16)) AS INTEGER) / 900 * 900)"


@compiles(epoch_seconds)
def _epoch_seconds_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"extract(epoch from {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@dataclass(frozen=True, slots=True)
class QueueName:
    """A configured queue's name and service-level threshold."""

    name: str
    threshold_s: float


@dataclass(frozen=True, slots=True)
class EventCell:
    """Events of one kind in one interval and channel for one queue or agent, with their sums."""

    key: str
    interval_start: int
    channel: Channel
    kind: str
    count: int
    # Answers and abandons with a wait within their queue's service-level threshold.
    within: int
    wait_s: float
    handle_s: float


@dataclass(frozen=True, slots=True)
class DurationCell:
    """A count and a sum of seconds in one interval and channel for one queue."""

    key: str
    interval_start: int
    channel: Channel
    count: int
    total_s: float


async def queue_names(session: AsyncSession) -> dict[str, QueueName]:
    """Every configured queue (active or not) by its routing id."""
    rows = await session.execute(select(Queue.id, Queue.name, Queue.service_level_threshold_s))
    return {str(row.id): QueueName(row.name, float(row.service_level_threshold_s)) for row in rows}


async def staff_names(session: AsyncSession, ids: Sequence[str]) -> dict[str, str]:
    """Display names of the staff among `ids` (routing ids)."""
    wanted = [parsed for parsed in (_as_uuid(one) for one in ids) if parsed is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted)))
    return {str(row.id): row.display_name for row in rows}


async def queue_event_cells(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    thresholds: Mapping[str, float],
    default_threshold_s: float,
    queue_key: str | None,
    channel: Channel | None,
) -> list[EventCell]:
    """Arrivals, answers, abandons and completions per queue, interval and channel."""
    conditions = _event_conditions(start, end, channel)
    if queue_key is not None:
        conditions.append(InteractionEvent.data["queue_id"].as_string() == queue_key)
    counted = counted_events(*conditions)
    threshold: ColumnElement[Any] = (
        case(dict(thresholds), value=counted.c.queue_id, else_=default_threshold_s)
        if thresholds
        else literal(default_threshold_s)
    )
    return await _event_cells(session, counted, counted.c.queue_id, threshold)


async def agent_event_cells(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    agent_key: str | None,
    channel: Channel | None,
) -> list[EventCell]:
    """Answers and completions per agent, interval and channel."""
    conditions = _event_conditions(start, end, channel)
    if agent_key is not None:
        conditions.append(InteractionEvent.data["agent_id"].as_string() == agent_key)
    counted = counted_events(*conditions)
    answers = select(counted).where(counted.c.kind.in_((ANSWERED, COMPLETED))).subquery()
    return await _event_cells(session, answers, answers.c.agent_id, literal(0.0))


def _event_conditions(
    start: datetime, end: datetime, channel: Channel | None
) -> list[ColumnElement[bool]]:
    conditions = [InteractionEvent.at >= start, InteractionEvent.at < end]
    if channel is not None:
        conditions.append(Interaction.channel == channel)
    return conditions


async def _event_cells(
    session: AsyncSession, counted: Subquery, key: ColumnElement[Any], threshold: ColumnElement[Any]
) -> list[EventCell]:
    rows = select(
        key.label("key"),
        interval_start(counted.c.at).label("bucket"),
        counted.c.channel.label("channel"),
        counted.c.kind.label("kind"),
        counted.c.wait_s.label("wait_s"),
        counted.c.handle_s.label("handle_s"),
        threshold.label("threshold_s"),
    ).subquery()
    # Grouped outside the subquery: PostgreSQL will not group by expressions holding
    # bind parameters (the thresholds), but groups by the subquery's columns happily.
    within = func.sum(case((rows.c.wait_s <= rows.c.threshold_s, 1), else_=0))
    statement = select(
        rows.c.key,
        rows.c.bucket,
        rows.c.channel,
        rows.c.kind,
        func.count(),
        within,
        func.coalesce(func.sum(rows.c.wait_s), 0.0),
        func.coalesce(func.sum(rows.c.handle_s), 0.0),
    ).group_by(rows.c.key, rows.c.bucket, rows.c.channel, rows.c.kind)
    result = await session.execute(statement)
    return [
        EventCell(
            key=str(key),
            interval_start=int(bucket),
            channel=Channel(channel),
            kind=str(kind),
            count=int(count),
            within=int(within_count or 0),
            wait_s=float(wait_s),
            handle_s=float(handle_s),
        )
        for key, bucket, channel, kind, count, within_count, wait_s, handle_s in result
        if key is not None
    ]


async def first_response_cells(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
) -> list[DurationCell]:
    """First responses per queue, interval (of the response) and channel, with their delay."""
    conditions = [
        Interaction.first_response_at >= start,
        Interaction.first_response_at < end,
        Interaction.queue_id.is_not(None),
        Interaction.queued_at.is_not(None),
        *_interaction_filters(queue_id, channel),
    ]
    rows = (
        select(
            Interaction.queue_id.label("key"),
            interval_start(Interaction.first_response_at).label("bucket"),
            Interaction.channel.label("channel"),
            (
                epoch_seconds(Interaction.first_response_at) - epoch_seconds(Interaction.queued_at)
            ).label("delay_s"),
        )
        .where(*conditions)
        .subquery()
    )
    statement = select(
        rows.c.key, rows.c.bucket, rows.c.channel, func.count(), func.sum(rows.c.delay_s)
    ).group_by(rows.c.key, rows.c.bucket, rows.c.channel)
    result = await session.execute(statement)
    return [
        DurationCell(str(key), int(bucket), Channel(channel), int(count), float(total or 0.0))
        for key, bucket, channel, count, total in result
    ]


@dataclass(frozen=True, slots=True)
class DispositionCount:
    """How often one disposition was recorded on one queue's interactions."""

    queue_id: str | None
    disposition_id: str
    code: str
    label: str
    count: int


async def disposition_counts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
) -> list[DispositionCount]:
    """Dispositions recorded in [start, end), per queue and disposition."""
    recorded = InteractionDisposition
    conditions = [
        recorded.recorded_at >= start,
        recorded.recorded_at < end,
        *_interaction_filters(queue_id, channel),
    ]
    statement = (
        select(
            Interaction.queue_id,
            Disposition.id,
            Disposition.code,
            Disposition.label,
            func.count(),
        )
        .select_from(recorded)
        .join(Interaction, Interaction.id == recorded.interaction_id)
        .join(Disposition, Disposition.id == recorded.disposition_id)
        .where(*conditions)
        .group_by(Interaction.queue_id, Disposition.id, Disposition.code, Disposition.label)
    )
    result = await session.execute(statement)
    return [
        DispositionCount(None if queue is None else str(queue), str(ident), code, label, int(count))
        for queue, ident, code, label, count in result
    ]


@dataclass(frozen=True, slots=True)
class RatingCount:
    """How many interactions of one queue or agent got one satisfaction rating."""

    key: str | None
    rating: int
    count: int


async def rating_counts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    by_agent: bool,
    queue_id: uuid.UUID | None,
    agent_id: uuid.UUID | None,
    channel: Channel | None,
) -> list[RatingCount]:
    """Ratings of interactions that ended in [start, end), per queue (or agent) and score."""
    group = Interaction.agent_id if by_agent else Interaction.queue_id
    conditions = [
        Interaction.ended_at >= start,
        Interaction.ended_at < end,
        Interaction.satisfaction_rating.is_not(None),
        *_interaction_filters(queue_id, channel),
    ]
    if agent_id is not None:
        conditions.append(Interaction.agent_id == agent_id)
    statement = (
        select(group, Interaction.satisfaction_rating, func.count())
        .where(*conditions)
        .group_by(group, Interaction.satisfaction_rating)
    )
    result = await session.execute(statement)
    return [
        RatingCount(None if key is None else str(key), int(rating or 0), int(count))
        for key, rating, count in result
    ]


async def top_topics(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
    limit: int,
) -> list[tuple[str, int]]:
    """The `limit` most frequent topics of interactions created in [start, end)."""
    count = func.count().label("n")
    statement = (
        select(Interaction.topic, count)
        .where(*_topic_conditions(start, end, queue_id, channel))
        .group_by(Interaction.topic)
        .order_by(count.desc(), Interaction.topic)
        .limit(limit)
    )
    result = await session.execute(statement)
    return [(str(topic), int(n)) for topic, n in result]


async def topic_cells(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
    topics: Sequence[str],
) -> list[tuple[str, int, int]]:
    """(topic, interval start, count) of the given topics; days are made of intervals later."""
    if not topics:
        return []
    rows = (
        select(
            Interaction.topic.label("topic"),
            interval_start(Interaction.created_at).label("bucket"),
        )
        .where(*_topic_conditions(start, end, queue_id, channel), Interaction.topic.in_(topics))
        .subquery()
    )
    statement = select(rows.c.topic, rows.c.bucket, func.count()).group_by(
        rows.c.topic, rows.c.bucket
    )
    result = await session.execute(statement)
    return [(str(topic), int(bucket), int(count)) for topic, bucket, count in result]


def _topic_conditions(
    start: datetime, end: datetime, queue_id: uuid.UUID | None, channel: Channel | None
) -> list[ColumnElement[bool]]:
    return [
        Interaction.created_at >= start,
        Interaction.created_at < end,
        Interaction.topic.is_not(None),
        *_interaction_filters(queue_id, channel),
    ]


def _interaction_filters(
    queue_id: uuid.UUID | None, channel: Channel | None
) -> list[ColumnElement[bool]]:
    """Conditions on the interactions table narrowing a report to one queue and channel."""
    conditions: list[ColumnElement[bool]] = []
    if queue_id is not None:
        conditions.append(Interaction.queue_id == queue_id)
    if channel is not None:
        conditions.append(Interaction.channel == channel)
    return conditions


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
