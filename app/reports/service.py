"""Reports from stored history, computed with the routing core's own metric functions.

Every event counts in the 15-minute interval in which it happened, as in the engine's
statistics (app/routing/stats.py): an arrival where it entered the queue, an answer where
it was accepted (a voice or video call: where it connected), an abandon where the customer
left, a completion where wrap-up ended. The database sums those events per channel into
the engine's `Counts`; `kpis` derives the metrics of each channel and of their sum.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.interactions.counted import ABANDONED, ANSWERED, COMPLETED, QUEUED
from app.reports import repository
from app.reports.periods import Period, interval_label
from app.reports.repository import DurationCell, EventCell, QueueName
from app.reports.schemas import (
    AgentChannelFigures,
    AgentFigures,
    AgentInterval,
    AgentReport,
    DispositionFigures,
    DispositionReport,
    QueueChannelFigures,
    QueueFigures,
    QueueInterval,
    QueueReport,
    ReportPeriod,
    SatisfactionFigures,
    SatisfactionReport,
    TopicReport,
    TopicTrend,
)
from app.routing.model import INTERVAL_S, Channel, QueueConfig, QueueId
from app.routing.stats import Counts, aht_s, kpis

# What the engine uses for queues it makes itself (bare skill sets): the config default.
DEFAULT_THRESHOLD_S = QueueConfig(QueueId("")).sl_threshold_s
RATINGS = range(1, 6)
NO_QUEUE = "(no queue)"
NO_AGENT = "(no agent)"

# Rounded as the live statistics API rounds them, so both show the same figures.
SECONDS_DIGITS = 1
RATIO_DIGITS = 4

Cell = tuple[str, int]  # (queue or agent id, interval start in epoch seconds)


def report_period(period: Period) -> ReportPeriod:
    """The period as reports show it."""
    return ReportPeriod(
        start=period.start.astimezone(period.tz),
        end=period.end.astimezone(period.tz),
        tz=period.tz.key,
        interval_s=int(INTERVAL_S),
    )


@dataclass(slots=True)
class Line:
    """What one report line (a queue or an agent, over an interval or the period) sums,
    kept per channel; the line's own figures are computed from the sums over its channels."""

    counts: dict[Channel, Counts] = field(default_factory=lambda: defaultdict(Counts))
    responses: dict[Channel, list[DurationCell]] = field(default_factory=lambda: defaultdict(list))

    def add(self, other: Line) -> None:
        """Accumulate `other` into this line, channel by channel."""
        for channel, counts in other.counts.items():
            self.counts[channel].add(counts)
        for channel, cells in other.responses.items():
            self.responses[channel].extend(cells)

    def channels(self) -> list[Channel]:
        """The channels with any activity on this line, in the order `Channel` declares."""
        found = set(self.counts) | set(self.responses)
        return [channel for channel in Channel if channel in found]

    def total(self) -> Counts:
        """The counts over every channel."""
        summed = Counts()
        for counts in self.counts.values():
            summed.add(counts)
        return summed

    def all_responses(self) -> list[DurationCell]:
        """The first responses over every channel."""
        return [cell for cells in self.responses.values() for cell in cells]


def queue_lines(
    cells: Iterable[EventCell], responses: Iterable[DurationCell] = ()
) -> dict[Cell, Line]:
    """The engine's additive counts per (queue, interval) and channel, from summed events."""
    lines: dict[Cell, Line] = defaultdict(Line)
    for cell in cells:
        target = lines[(cell.key, cell.interval_start)].counts[cell.channel]
        if cell.kind == QUEUED:
            target.arrived += cell.count
        elif cell.kind == ANSWERED:
            target.answered += cell.count
            target.answered_within += cell.within
            target.answered_wait_s += cell.wait_s
        elif cell.kind == ABANDONED:
            target.abandoned += cell.count
            target.abandoned_after += cell.count - cell.within
            target.abandoned_wait_s += cell.wait_s
        elif cell.kind == COMPLETED:
            target.completed += cell.count
            target.handle_s += cell.handle_s
    for response in responses:
        lines[(response.key, response.interval_start)].responses[response.channel].append(response)
    return dict(lines)


def period_lines(lines: dict[Cell, Line]) -> dict[str, Line]:
    """The lines of each queue or agent summed over the period."""
    summed: dict[str, Line] = defaultdict(Line)
    for (key, _), line in lines.items():
        summed[key].add(line)
    return dict(summed)


async def queue_report(
    session: AsyncSession,
    period: Period,
    *,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
) -> QueueReport:
    """Per queue and interval: arrivals, answers, abandons, service level, ASA, AHT, FRT,
    each split by channel; `channel` narrows the whole report to one."""
    names = await repository.queue_names(session)
    thresholds = {key: queue.threshold_s for key, queue in names.items()}
    key = None if queue_id is None else str(queue_id)
    cells = await repository.queue_event_cells(
        session,
        start=period.start,
        end=period.end,
        thresholds=thresholds,
        default_threshold_s=DEFAULT_THRESHOLD_S,
        queue_key=key,
        channel=channel,
    )
    responses = await repository.first_response_cells(
        session, start=period.start, end=period.end, queue_id=queue_id, channel=channel
    )
    lines = queue_lines(cells, responses)
    intervals = [
        QueueInterval(
            interval_start=interval_label(period, start),
            **_queue_figures(queue, names, lines[(queue, start)]),
        )
        for queue, start in sorted(
            lines, key=lambda cell: (cell[1], _queue_name(cell[0], names), cell[0])
        )
    ]
    summed = period_lines(lines)
    totals = [
        QueueFigures(**_queue_figures(queue, names, summed[queue]))
        for queue in sorted(summed, key=lambda one: (_queue_name(one, names), one))
    ]
    return QueueReport(
        period=report_period(period), channel=channel, intervals=intervals, totals=totals
    )


def _queue_figures(queue: str, names: dict[str, QueueName], line: Line) -> dict[str, Any]:
    configured = names.get(queue)
    return {
        "queue_id": queue,
        "queue_name": _queue_name(queue, names),
        "threshold_s": configured.threshold_s if configured else DEFAULT_THRESHOLD_S,
        **_queue_numbers(queue, line.total(), line.all_responses()),
        "by_channel": {
            channel: QueueChannelFigures(
                **_queue_numbers(queue, line.counts[channel], line.responses[channel])
            )
            for channel in line.channels()
        },
    }


def _queue_numbers(queue: str, counts: Counts, responses: Iterable[DurationCell]) -> dict[str, Any]:
    derived = kpis(QueueId(queue), counts)
    found = list(responses)
    first_responses = sum(cell.count for cell in found)
    response_s = sum(cell.total_s for cell in found)
    return {
        "arrived": counts.arrived,
        "answered": counts.answered,
        "answered_within_threshold": counts.answered_within,
        "abandoned": counts.abandoned,
        "abandoned_after_threshold": counts.abandoned_after,
        "completed": counts.completed,
        "handle_s": round(counts.handle_s, SECONDS_DIGITS),
        "service_level": _round(derived.service_level, RATIO_DIGITS),
        "asa_s": _round(derived.asa_s, SECONDS_DIGITS),
        "abandon_rate": _round(derived.abandon_rate, RATIO_DIGITS),
        "aht_s": _round(derived.aht_s, SECONDS_DIGITS),
        "first_responses": first_responses,
        "avg_first_response_s": _round(
            response_s / first_responses if first_responses else None, SECONDS_DIGITS
        ),
    }


def _queue_name(queue: str, names: dict[str, QueueName]) -> str:
    configured = names.get(queue)
    # Queues the engine made for a bare skill set are named by their skills.
    return configured.name if configured else queue


async def agent_report(
    session: AsyncSession,
    period: Period,
    *,
    agent_id: uuid.UUID | None,
    channel: Channel | None,
) -> AgentReport:
    """Per agent and interval: answers, completions and handle time, each split by channel."""
    key = None if agent_id is None else str(agent_id)
    cells = await repository.agent_event_cells(
        session, start=period.start, end=period.end, agent_key=key, channel=channel
    )
    lines = agent_lines(cells)
    names = await repository.staff_names(session, sorted({agent for agent, _ in lines}))
    intervals = [
        AgentInterval(
            interval_start=interval_label(period, start),
            **_agent_figures(agent, names, lines[(agent, start)]),
        )
        for agent, start in sorted(
            lines, key=lambda cell: (cell[1], names.get(cell[0], cell[0]), cell[0])
        )
    ]
    summed = period_lines(lines)
    totals = [
        AgentFigures(**_agent_figures(agent, names, summed[agent]))
        for agent in sorted(summed, key=lambda one: (names.get(one, one), one))
    ]
    return AgentReport(
        period=report_period(period), channel=channel, intervals=intervals, totals=totals
    )


def agent_lines(cells: Iterable[EventCell]) -> dict[Cell, Line]:
    """Answers, completions and handle time per (agent, interval) and channel."""
    lines: dict[Cell, Line] = defaultdict(Line)
    for cell in cells:
        target = lines[(cell.key, cell.interval_start)].counts[cell.channel]
        if cell.kind == ANSWERED:
            target.answered += cell.count
        elif cell.kind == COMPLETED:
            target.completed += cell.count
            target.handle_s += cell.handle_s
    return dict(lines)


def _agent_figures(agent: str, names: dict[str, str], line: Line) -> dict[str, Any]:
    return {
        "agent_id": agent,
        "agent_name": names.get(agent, agent),
        **_agent_numbers(line.total()),
        "by_channel": {
            channel: AgentChannelFigures(**_agent_numbers(line.counts[channel]))
            for channel in line.channels()
        },
    }


def _agent_numbers(counts: Counts) -> dict[str, Any]:
    return {
        "answered": counts.answered,
        "handled": counts.completed,
        "handle_s": round(counts.handle_s, SECONDS_DIGITS),
        "aht_s": _round(aht_s(counts), SECONDS_DIGITS),
    }


async def disposition_report(
    session: AsyncSession, period: Period, *, queue_id: uuid.UUID | None, channel: Channel | None
) -> DispositionReport:
    """Dispositions ("services taken") recorded in the period, per queue and in all."""
    found = await repository.disposition_counts(
        session, start=period.start, end=period.end, queue_id=queue_id, channel=channel
    )
    names = await repository.queue_names(session)
    rows = [
        DispositionFigures(
            queue_id=row.queue_id,
            queue_name=NO_QUEUE if row.queue_id is None else _queue_name(row.queue_id, names),
            disposition_id=row.disposition_id,
            code=row.code,
            label=row.label,
            count=row.count,
        )
        for row in found
    ]
    rows.sort(key=lambda row: (row.queue_name or "", -row.count, row.code))
    summed: dict[str, int] = defaultdict(int)
    labels: dict[str, tuple[str, str]] = {}
    for row in found:
        summed[row.disposition_id] += row.count
        labels[row.disposition_id] = (row.code, row.label)
    totals = [
        DispositionFigures(
            queue_id=None,
            queue_name=None,
            disposition_id=ident,
            code=labels[ident][0],
            label=labels[ident][1],
            count=count,
        )
        for ident, count in summed.items()
    ]
    totals.sort(key=lambda row: (-row.count, row.code))
    return DispositionReport(
        period=report_period(period), channel=channel, rows=rows, totals=totals
    )


async def satisfaction_report(
    session: AsyncSession,
    period: Period,
    *,
    by_agent: bool,
    queue_id: uuid.UUID | None,
    agent_id: uuid.UUID | None,
    channel: Channel | None,
) -> SatisfactionReport:
    """Count, average and distribution of ratings, per queue or agent, and overall."""
    found = await repository.rating_counts(
        session,
        start=period.start,
        end=period.end,
        by_agent=by_agent,
        queue_id=queue_id,
        agent_id=agent_id,
        channel=channel,
    )
    distributions: dict[str | None, dict[int, int]] = defaultdict(lambda: dict.fromkeys(RATINGS, 0))
    overall = dict.fromkeys(RATINGS, 0)
    for row in found:
        distributions[row.key][row.rating] += row.count
        overall[row.rating] += row.count
    keys = [key for key in distributions if key is not None]
    if by_agent:
        names = await repository.staff_names(session, keys)
    else:
        names = {key: queue.name for key, queue in (await repository.queue_names(session)).items()}
    missing = NO_AGENT if by_agent else NO_QUEUE
    rows = [
        _satisfaction(key, missing if key is None else names.get(key, key), counts)
        for key, counts in distributions.items()
    ]
    rows.sort(key=lambda row: (row.id is None, row.name, row.id or ""))
    return SatisfactionReport(
        period=report_period(period),
        channel=channel,
        by="agent" if by_agent else "queue",
        rows=rows,
        overall=_satisfaction(None, "All", overall),
    )


def _satisfaction(key: str | None, name: str, counts: dict[int, int]) -> SatisfactionFigures:
    total = sum(counts.values())
    points = sum(rating * count for rating, count in counts.items())
    return SatisfactionFigures(
        id=key,
        name=name,
        count=total,
        average=_round(points / total if total else None, RATIO_DIGITS),
        distribution={str(rating): counts[rating] for rating in RATINGS},
    )


async def topic_report(
    session: AsyncSession,
    period: Period,
    *,
    queue_id: uuid.UUID | None,
    channel: Channel | None,
    limit: int,
) -> TopicReport:
    """The `limit` most frequent topics, with their count on each local day."""
    top = await repository.top_topics(
        session,
        start=period.start,
        end=period.end,
        queue_id=queue_id,
        channel=channel,
        limit=limit,
    )
    days = period.days()
    column = {day: index for index, day in enumerate(days)}
    counts = {topic: [0] * len(days) for topic, _ in top}
    cells = await repository.topic_cells(
        session,
        start=period.start,
        end=period.end,
        queue_id=queue_id,
        channel=channel,
        topics=list(counts),
    )
    for topic, start, count in cells:
        # Every zone in use is offset by whole quarter hours: an interval lies within one
        # local day (only a historical odd offset could straddle midnight; keep it in range).
        day = period.local(start).date()
        index = column.get(day, 0 if day < days[0] else len(days) - 1)
        counts[topic][index] += count
    trends = [TopicTrend(topic=topic, total=total, counts=counts[topic]) for topic, total in top]
    return TopicReport(period=report_period(period), channel=channel, days=days, topics=trends)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
