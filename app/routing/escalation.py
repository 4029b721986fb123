"""Escalation: steps that change what a waiting interaction requires, its priority or queue."""

from __future__ import annotations

import heapq

from app.routing import events as e
from app.routing.core import ESCALATE_TIMER, EngineCore
from app.routing.model import QueueConfig, Requirement
from app.routing.state import Ix, Q


class EscalationMixin(EngineCore):
    """Schedules and applies escalation steps; re-routing is the caller's."""

    def _schedule_escalation(self, ix: Ix) -> None:
        steps = ix.queue.config.escalation
        if ix.tier < len(steps) and (ix.target_agent is None or ix.sticky_until is not None):
            due = ix.entered_queue_at + steps[ix.tier].after_s
            self._add_timer(due, ESCALATE_TIMER, ix, ix.esc_ticket)

    def _escalate_due(self, ix: Ix, now: float, out: list[e.Event]) -> bool:
        """Apply every escalation step of the current queue that is due; the caller re-routes."""
        stepped = False
        while ix.state is Q and ix.held_until is None:
            steps = ix.queue.config.escalation
            if ix.tier >= len(steps) or ix.entered_queue_at + steps[ix.tier].after_s > now:
                break
            self._escalate_step(ix, now, out)
            stepped = True
        if stepped:
            self._schedule_escalation(ix)
        return stepped

    def _escalate_step(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        queue = ix.queue
        step_index = ix.tier
        step = queue.config.escalation[step_index]
        ix.esc_ticket += 1
        target = self._queues.get(step.overflow_to) if step.overflow_to is not None else None
        if target is None:
            ix.tier += 1
        else:
            queue.members.discard(ix)
            target.members.add(ix)
            heapq.heappush(target.age_heap, (ix.queued_at, ix.seq, ix.id))
            ix.queue, ix.tier, ix.entered_queue_at = target, 0, now
        ix.history += (now, "escalated", ix.queue.id)
        out.append(e.InteractionEscalated(now, ix.id, queue.id, step_index, ix.queue.id))


def tiers(config: QueueConfig) -> list[tuple[tuple[Requirement, ...], int]]:
    """Requirement alternatives and priority bonus after each number of escalation steps."""
    main, extra, bonus = config.required, list[Requirement](), 0
    result: list[tuple[tuple[Requirement, ...], int]] = [((main,), 0)]
    for step in config.escalation:
        if step.required is not None:
            main = step.required
        if step.also is not None:
            extra.append(step.also)
        bonus += step.priority_delta
        alternatives = tuple(dict.fromkeys([main, *extra]))
        result.append((alternatives, bonus))
    return result
