"""The metric definitions (DESIGN.md), shared by the engine, the simulator and reports.

* Wait = answered (or abandoned) time - queued time. ASA = mean wait of answered.
* Service level = answered within the threshold / (answered + abandoned after the threshold).
* Abandon rate = abandoned / (answered + abandoned).
* Handle time = active + wrap-up; AHT = its mean over completed.
* Occupancy = time handling / time logged in and not busy.

Answers and abandons count in the interval in which they happen; completions likewise.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from app.routing.model import INTERVAL_S, AgentId, QueueId

RECENT_HANDLE_SAMPLES = 50


def interval_start(at: float) -> float:
    """The start of the 15-minute interval holding `at` (multiples of 900 s of epoch time)."""
    return (at // INTERVAL_S) * INTERVAL_S


@dataclass(slots=True)
class Counts:
    """Additive counters from which every queue metric is derived."""

    arrived: int = 0
    answered: int = 0
    answered_within: int = 0
    answered_wait_s: float = 0.0
    abandoned: int = 0
    abandoned_after: int = 0
    abandoned_wait_s: float = 0.0
    completed: int = 0
    handle_s: float = 0.0

    def add(self, other: Counts) -> None:
        """Accumulate `other` into these counts."""
        self.arrived += other.arrived
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.answered_wait_s += other.answered_wait_s
        self.abandoned += other.abandoned
        self.abandoned_after += other.abandoned_after
        self.abandoned_wait_s += other.abandoned_wait_s
        self.completed += other.completed
        self.handle_s += other.handle_s


def asa_s(counts: Counts) -> float | None:
    """Average speed of answer: mean wait of answered interactions."""
    return counts.answered_wait_s / counts.answered if counts.answered else None


def service_level(counts: Counts) -> float | None:
    """Answered within threshold / (answered + abandoned after threshold)."""
    denominator = counts.answered + counts.abandoned_after
    return counts.answered_within / denominator if denominator else None


def abandon_rate(counts: Counts) -> float | None:
    """Abandoned / (answered + abandoned)."""
    denominator = counts.answered + counts.abandoned
    return counts.abandoned / denominator if denominator else None


def aht_s(counts: Counts) -> float | None:
    """Average handle time (active + wrap-up) over completed interactions."""
    return counts.handle_s / counts.completed if counts.completed else None


def occupancy(handling_s: float, available_s: float) -> float | None:
    """Time handling / time logged in and not busy."""
    return handling_s / available_s if available_s > 0 else None


@dataclass(frozen=True, slots=True)
class QueueKpis:
    """Derived metrics for one queue over some period."""

    queue_id: QueueId
    arrived: int
    answered: int
    abandoned: int
    completed: int
    asa_s: float | None
    service_level: float | None
    abandon_rate: float | None
    aht_s: float | None


def kpis(queue_id: QueueId, counts: Counts) -> QueueKpis:
    """Apply the metric definitions to `counts`."""
    return QueueKpis(
        queue_id=queue_id,
        arrived=counts.arrived,
        answered=counts.answered,
        abandoned=counts.abandoned,
        completed=counts.completed,
        asa_s=asa_s(counts),
        service_level=service_level(counts),
        abandon_rate=abandon_rate(counts),
        aht_s=aht_s(counts),
    )


@dataclass(slots=True)
class AgentTime:
    """Time an agent spent available, and handling while available, with per-interval splits."""

    available_s: float = 0.0
    handling_s: float = 0.0
    by_interval: dict[float, list[float]] = field(default_factory=dict)

    def add(self, start: float, end: float, handling: bool) -> None:
        """Count `start..end` as available time (and handling time if `handling`)."""
        bucket = (start // INTERVAL_S) * INTERVAL_S  # interval_start, inlined: runs per offer
        if start < end <= bucket + INTERVAL_S:
            # The common case, one interval: the same sums as the loop below, without it.
            span = end - start
            self.available_s += span
            cell = self.by_interval.get(bucket)
            if cell is None:
                cell = self.by_interval[bucket] = [0.0, 0.0]
            cell[0] += span
            if handling:
                self.handling_s += span
                cell[1] += span
            return
        while start < end:
            bucket = interval_start(start)
            stop = min(end, bucket + INTERVAL_S)
            span = stop - start
            self.available_s += span
            cell = self.by_interval.setdefault(bucket, [0.0, 0.0])
            cell[0] += span
            if handling:
                self.handling_s += span
                cell[1] += span
            start = stop


class StatsCollector:
    """Accumulates counts in total and per 15-minute interval, per queue and per agent."""

    def __init__(self) -> None:
        self.totals: dict[QueueId, Counts] = {}
        self.intervals: dict[tuple[QueueId, float], Counts] = {}
        self.agent_intervals: dict[tuple[AgentId, float], Counts] = {}
        self.agent_time: dict[AgentId, AgentTime] = {}
        self.recent_handle_s: dict[QueueId, deque[float]] = {}
        # Per queue: (interval start, total cell, interval cell) of the last interval counted,
        # so that the common case (same interval as last time) is one dict lookup.
        self._current: dict[QueueId, tuple[float, Counts, Counts]] = {}

    def _cells(self, queue_id: QueueId, at: float) -> tuple[Counts, Counts]:
        start = (at // INTERVAL_S) * INTERVAL_S
        current = self._current.get(queue_id)
        if current is not None and current[0] == start:
            return current[1], current[2]
        total = self.totals.get(queue_id)
        if total is None:
            total = self.totals[queue_id] = Counts()
        key = (queue_id, start)
        cell = self.intervals.get(key)
        if cell is None:
            cell = self.intervals[key] = Counts()
        self._current[queue_id] = (start, total, cell)
        return total, cell

    def arrived(self, queue_id: QueueId, at: float) -> None:
        """An interaction entered `queue_id`."""
        total, cell = self._cells(queue_id, at)
        total.arrived += 1
        cell.arrived += 1

    def answered(self, queue_id: QueueId, at: float, wait_s: float, threshold_s: float) -> None:
        """An interaction was answered after waiting `wait_s`."""
        within = wait_s <= threshold_s
        total, cell = self._cells(queue_id, at)
        total.answered += 1
        total.answered_wait_s += wait_s
        total.answered_within += within
        cell.answered += 1
        cell.answered_wait_s += wait_s
        cell.answered_within += within

    def abandoned(self, queue_id: QueueId, at: float, wait_s: float, threshold_s: float) -> None:
        """The customer left after waiting `wait_s`."""
        after = wait_s > threshold_s
        for counts in self._cells(queue_id, at):
            counts.abandoned += 1
            counts.abandoned_wait_s += wait_s
            counts.abandoned_after += after

    def completed(self, queue_id: QueueId, agent_id: AgentId, at: float, handle_s: float) -> None:
        """An interaction's handling (active + wrap-up) ended."""
        total, cell = self._cells(queue_id, at)
        total.completed += 1
        total.handle_s += handle_s
        cell.completed += 1
        cell.handle_s += handle_s
        key = (agent_id, (at // INTERVAL_S) * INTERVAL_S)
        agent_cell = self.agent_intervals.get(key)
        if agent_cell is None:
            agent_cell = self.agent_intervals[key] = Counts()
        agent_cell.completed += 1
        agent_cell.handle_s += handle_s
        recent = self.recent_handle_s.get(queue_id)
        if recent is None:
            recent = self.recent_handle_s[queue_id] = deque(maxlen=RECENT_HANDLE_SAMPLES)
        recent.append(handle_s)

    def agent_span(self, agent_id: AgentId, start: float, end: float, handling: bool) -> None:
        """An agent was available (and maybe handling) from `start` to `end`."""
        if end <= start:
            return
        record = self.agent_time.get(agent_id)
        if record is None:
            record = self.agent_time[agent_id] = AgentTime()
        record.add(start, end, handling)

    def recent_aht_s(self, queue_id: QueueId) -> float | None:
        """Mean of the last handle times in `queue_id` (for estimated wait)."""
        recent = self.recent_handle_s.get(queue_id)
        return sum(recent) / len(recent) if recent else None


@dataclass(frozen=True, slots=True)
class QueueNow:
    """Real-time view of one queue: counts now plus totals since the engine started."""

    queue_id: QueueId
    waiting: int
    offered: int
    oldest_wait_s: float | None
    totals: QueueKpis
    current_interval: QueueKpis


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """Metrics of one queue over one 15-minute interval."""

    queue_id: QueueId
    interval_start: float
    kpis: QueueKpis


@dataclass(frozen=True, slots=True)
class AgentIntervalRow:
    """Metrics of one agent over one 15-minute interval."""

    agent_id: AgentId
    interval_start: float
    completed: int
    aht_s: float | None
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Everything a dashboard needs at `at`."""

    at: float
    queues: dict[QueueId, QueueNow]
    agents_by_state: dict[str, int]
    occupancy: float | None
    intervals: list[IntervalRow]
    agent_intervals: list[AgentIntervalRow]


def interval_rows(collector: StatsCollector) -> list[IntervalRow]:
    """Every (queue, interval) row, sorted by interval then queue."""
    rows = [
        IntervalRow(queue_id, start, kpis(queue_id, counts))
        for (queue_id, start), counts in collector.intervals.items()
    ]
    rows.sort(key=lambda row: (row.interval_start, row.queue_id))
    return rows


def agent_interval_rows(collector: StatsCollector) -> list[AgentIntervalRow]:
    """Every (agent, interval) row with completions or time, sorted by interval then agent."""
    keys: set[tuple[AgentId, float]] = set(collector.agent_intervals)
    for agent_id, record in collector.agent_time.items():
        keys.update((agent_id, start) for start in record.by_interval)
    rows = []
    for agent_id, start in keys:
        counts = collector.agent_intervals.get((agent_id, start), Counts())
        time_record = collector.agent_time.get(agent_id)
        cell = time_record.by_interval.get(start, [0.0, 0.0]) if time_record else [0.0, 0.0]
        rows.append(
            AgentIntervalRow(
                agent_id, start, counts.completed, aht_s(counts), occupancy(cell[1], cell[0])
            )
        )
    rows.sort(key=lambda row: (row.interval_start, row.agent_id))
    return rows
