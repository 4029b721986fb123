"""Ordering of waiting interactions (priority, aging, FIFO) and selection of agents."""

from __future__ import annotations

from app.routing.model import SelectionStrategy


def wait_rank(priority: float, aging_per_s: float, queued_at: float) -> float:
    """A time-invariant heap key: smaller ranks go first.

    Effective priority at `now` is `priority + aging_per_s * (now - queued_at)`, so ordering by
    `aging_per_s * queued_at - priority` is the same at every `now` within one queue; across
    queues with different aging, compare `effective_priority` at `now` instead.
    """
    return aging_per_s * queued_at - priority


def effective_priority(rank: float, aging_per_s: float, now: float) -> float:
    """The priority a waiting interaction has at `now`, from its rank (see `wait_rank`)."""
    return aging_per_s * now - rank


def order_key(
    rank: float, aging_per_s: float, queued_at: float, seq: int, now: float
) -> tuple[float, float, int]:
    """Compare waiting interactions across queues: higher priority, then earlier, then FIFO."""
    return (-effective_priority(rank, aging_per_s, now), queued_at, seq)


def selection_key(
    strategy: SelectionStrategy,
    *,
    idle_since: float,
    occupancy: float,
    skill_total: int,
    last_offer_seq: int,
) -> tuple[float, float]:
    """Heap key of a free agent under `strategy`: smaller is chosen first.

    Longest idle: whose load last changed longest ago. Least occupied: the smallest share of
    capacity in use. Most skilled: the highest sum of levels on the required skills. Round
    robin: who was offered something longest ago. Ties fall back to longest idle.
    """
    if strategy is SelectionStrategy.LEAST_OCCUPIED:
        return (occupancy, idle_since)
    if strategy is SelectionStrategy.MOST_SKILLED:
        return (-float(skill_total), idle_since)
    if strategy is SelectionStrategy.ROUND_ROBIN:
        return (float(last_offer_seq), idle_since)
    return (idle_since, 0.0)
