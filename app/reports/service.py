"""Reports from stored history, computed with the routing core's own metric functions.

Every event counts in the 15-minute interval in which it happened, as in the engine's
statistics (app/routing/stats.py): an arrival where it entered the queue, an answer where
it was accepted, an abandon where the customer left, a completion where wrap-up ended.
The database sums those events into the engine's `Counts`; `kpis` derives the metrics.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import repository
from app.reports.periods import Period, interval_label
from app.reports.repository import DurationCell, EventCell, QueueName
from app.reports.schemas import (
    AgentFigures,
    AgentInterval,
    AgentReport,
    DispositionFigures,
    DispositionReport,
    QueueFigures,
    QueueInterval,
    QueueReport,
    ReportPeriod,
    SatisfactionFigures,
    SatisfactionReport,
    TopicReport,
    TopicTrend,
)
from app.routing.model import INTERVAL_S, QueueConfig, QueueId
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


def queue_counts(cells: Iterable[EventCell]) -> dict[Cell, Counts]:
    """The engine's additive counts per (queue, interval), from summed queue events."""
    counts: dict[Cell, Counts] = defaultdict(Counts)
    for cell in cells:
        target = counts[(cell.key, cell.interval_start)]
        if cell.kind == repository.QUEUED:
            target.arrived += cell.count
        elif cell.kind == repository.ANSWERED:
            target.answered += cell.count
            target.answered_within += cell.within
            target.answered_wait_s += cell.wait_s
        elif cell.kind == repository.ABANDONED:
            target.abandoned += cell.count
            target.abandoned_after += cell.count - cell.within
            target.abandoned_wait_s += cell.wait_s
        elif cell.kind == repository.COMPLETED:
            target.completed += cell.count
            target.handle_s += cell.handle_s
    return dict(counts)


async def queue_report(
    session: AsyncSession, period: Period, *, queue_id: uuid.UUID | None
) -> QueueReport:
    """Per queue and interval: arrivals, answers, abandons, service level, ASA, AHT, FRT."""
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
    )
    responses = await repository.first_response_cells(
        session, start=period.start, end=period.end, queue_id=queue_id
    )
    counts = queue_counts(cells)
    response_by_cell = {(cell.key, cell.interval_start): cell for cell in responses}
    for cell in response_by_cell:
        counts.setdefault(cell, Counts())
    intervals = [
        QueueInterval(
            interval_start=interval_label(period, start),
            **_queue_figures(
                queue, names, counts[(queue, start)], [response_by_cell.get((queue, start))]
            ),
        )
        for queue, start in sorted(
            counts, key=lambda cell: (cell[1], _queue_name(cell[0], names), cell[0])
        )
    ]
    totals = _queue_totals(counts, response_by_cell, names)
    return QueueReport(period=report_period(period), intervals=intervals, totals=totals)


def _queue_totals(
    counts: dict[Cell, Counts], responses: dict[Cell, DurationCell], names: dict[str, QueueName]
) -> list[QueueFigures]:
    summed: dict[str, Counts] = defaultdict(Counts)
    response_cells: dict[str, list[DurationCell | None]] = defaultdict(list)
    for (queue, start), cell_counts in counts.items():
        summed[queue].add(cell_counts)
        response_cells[queue].append(responses.get((queue, start)))
    return [
        QueueFigures(**_queue_figures(queue, names, summed[queue], response_cells[queue]))
        for queue in sorted(summed, key=lambda one: (_queue_name(one, names), one))
    ]


def _queue_figures(
    queue: str,
    names: dict[str, QueueName],
    counts: Counts,
    responses: Iterable[DurationCell | None],
) -> dict[str, object]:
    derived = kpis(QueueId(queue), counts)
    found = [cell for cell in responses if cell is not None]
    first_responses = sum(cell.count for cell in found)
    response_s = sum(cell.total_s for cell in found)
    configured = names.get(queue)
    return {
        "queue_id": queue,
        "queue_name": _queue_name(queue, names),
        "threshold_s": configured.threshold_s if configured else DEFAULT_THRESHOLD_S,
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
    session: AsyncSession, period: Period, *, agent_id: uuid.UUID | None
) -> AgentReport:
    """Per agent and interval: answers, completions and handle time."""
    key = None if agent_id is None else str(agent_id)
    cells = await repository.agent_event_cells(
        session, start=period.start, end=period.end, agent_key=key
    )
    counts = agent_counts(cells)
    answered: dict[Cell, int] = defaultdict(int)
    for cell in cells:
        if cell.kind == repository.ANSWERED:
            answered[(cell.key, cell.interval_start)] += cell.count
    names = await repository.staff_names(session, sorted({agent for agent, _ in counts}))
    intervals = [
        AgentInterval(
            interval_start=interval_label(period, start),
            **_agent_figures(agent, names, counts[(agent, start)], answered[(agent, start)]),
        )
        for agent, start in sorted(
            counts, key=lambda cell: (cell[1], names.get(cell[0], cell[0]), cell[0])
        )
    ]
    summed: dict[str, Counts] = defaultdict(Counts)
    answered_total: dict[str, int] = defaultdict(int)
    for (agent, start), cell_counts in counts.items():
        summed[agent].add(cell_counts)
        answered_total[agent] += answered[(agent, start)]
    totals = [
        AgentFigures(**_agent_figures(agent, names, summed[agent], answered_total[agent]))
        for agent in sorted(summed, key=lambda one: (names.get(one, one), one))
    ]
    return AgentReport(period=report_period(period), intervals=intervals, totals=totals)


def agent_counts(cells: Iterable[EventCell]) -> dict[Cell, Counts]:
    """Completions and handle time per (agent, interval), as the engine counts them."""
    counts: dict[Cell, Counts] = defaultdict(Counts)
    for cell in cells:
        target = counts[(cell.key, cell.interval_start)]
        if cell.kind == repository.COMPLETED:
            target.completed += cell.count
            target.handle_s += cell.handle_s
    return dict(counts)


def _agent_figures(
    agent: str, names: dict[str, str], counts: Counts, answered: int
) -> dict[str, object]:
    return {
        "agent_id": agent,
        "agent_name": names.get(agent, agent),
        "answered": answered,
        "handled": counts.completed,
        "handle_s": round(counts.handle_s, SECONDS_DIGITS),
        "aht_s": _round(aht_s(counts), SECONDS_DIGITS),
    }


async def disposition_report(
    session: AsyncSession, period: Period, *, queue_id: uuid.UUID | None
) -> DispositionReport:
    """Dispositions ("services taken") recorded in the period, per queue and in all."""
    found = await repository.disposition_counts(
        session, start=period.start, end=period.end, queue_id=queue_id
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
    return DispositionReport(period=report_period(period), rows=rows, totals=totals)


async def satisfaction_report(
    session: AsyncSession,
    period: Period,
    *,
    by_agent: bool,
    queue_id: uuid.UUID | None,
    agent_id: uuid.UUID | None,
) -> SatisfactionReport:
    """Count, average and distribution of ratings, per queue or agent, and overall."""
    found = await repository.rating_counts(
        session,
        start=period.start,
        end=period.end,
        by_agent=by_agent,
        queue_id=queue_id,
        agent_id=agent_id,
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
    session: AsyncSession, period: Period, *, queue_id: uuid.UUID | None, limit: int
) -> TopicReport:
    """The `limit` most frequent topics, with their count on each local day."""
    top = await repository.top_topics(
        session, start=period.start, end=period.end, queue_id=queue_id, limit=limit
    )
    days = period.days()
    column = {day: index for index, day in enumerate(days)}
    counts = {topic: [0] * len(days) for topic, _ in top}
    cells = await repository.topic_cells(
        session, start=period.start, end=period.end, queue_id=queue_id, topics=list(counts)
    )
    for topic, start, count in cells:
        # Every zone in use is offset by whole quarter hours: an interval lies within one
        # local day (only a historical odd offset could straddle midnight; keep it in range).
        day = period.local(start).date()
        index = column.get(day, 0 if day < days[0] else len(days) - 1)
        counts[topic][index] += count
    trends = [TopicTrend(topic=topic, total=total, counts=counts[topic]) for topic, total in top]
    return TopicReport(period=report_period(period), days=days, topics=trends)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
