"""Timers: offer time-outs, escalation steps, wrap-up ends, sticky waits, callbacks, retries.

A timer is a heap entry checked for liveness when it comes due (lazy deletion): it names its
interaction by id and uid; an offer or wrap-up timer is live while the interaction's ticket is
unchanged, an escalation while its escalation ticket is.
"""

from __future__ import annotations

import heapq

from app.routing import commands as c
from app.routing import events as e
from app.routing.core import (
    ESCALATE_TIMER,
    OFFER_TIMER,
    RETRY_TIMER,
    STICKY_TIMER,
    WRAP_TIMER,
    Timer,
)
from app.routing.model import AgentState, InteractionState
from app.routing.offers import OffersMixin
from app.routing.state import OFFERED, Ix, Q


class TimersMixin(OffersMixin):
    """The timer heap: what is due next, and firing what is due at a `Tick`."""

    def next_deadline(self) -> float | None:
        """When the earliest pending timer is due (send `Tick` then), or None."""
        timers = self._timers
        while timers and self._timer_target(timers[0]) is None:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def _timer_target(self, timer: Timer) -> Ix | None:
        """The interaction the timer is for, or None when the timer is stale."""
        _, _, kind, interaction_id, uid, ticket = timer
        ix = self._open.get(interaction_id)
        if ix is None or ix.uid != uid:
            return None
        return ix if _live(kind, ix, ticket) else None

    def _tick(self, cmd: c.Tick, now: float, out: list[e.Event]) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)
            ix = self._timer_target(timer)
            if ix is not None:
                self._fire(timer[2], ix, timer[0], out)
        if self._restored:
            self._restored = False
            agents = sorted(self._agents.values(), key=lambda agent: agent.id)
            # Held for an agent who was away (busy or offline) when the process stopped:
            # open to its queue again, as when she left.
            for agent in agents:
                if agent.state is not AgentState.AVAILABLE:
                    self._release_held_for(agent, now, out)
            for agent in agents:
                self._settle(agent, now, out)

    def _fire(self, kind: int, ix: Ix, now: float, out: list[e.Event]) -> None:
        if kind == OFFER_TIMER:
            self._time_out_offer(ix, now, out)
        elif kind == WRAP_TIMER:
            self._finish(ix, now, out)
        elif kind == ESCALATE_TIMER:
            if ix.state is Q and self._escalate_due(ix, now, out):
                self._enqueue(ix, now, out)
        elif kind == STICKY_TIMER:
            self._release_to_queue(ix, "sticky_expired", now, out)
        elif kind == RETRY_TIMER:
            # A decliner's pause is over: route again from the same place in line.
            self._enqueue(ix, now, out)
        else:
            # The queue opened: the held callback leaves the held line and starts waiting.
            ix.held_until = None
            ix.queued_at = ix.entered_queue_at = now
            self._enqueue(ix, now, out)
            self._schedule_escalation(ix)


def _live(kind: int, ix: Ix, ticket: int) -> bool:
    """True while a timer of `kind` set at `ticket` still applies to `ix`."""
    if kind == OFFER_TIMER:
        return ix.state is OFFERED and ix.ticket == ticket
    if kind == WRAP_TIMER:
        return ix.state is InteractionState.WRAP_UP and ix.ticket == ticket
    if kind == ESCALATE_TIMER:
        return ix.state in (Q, OFFERED) and ix.esc_ticket == ticket
    if kind == STICKY_TIMER:
        return ix.state is Q and ix.sticky_until is not None
    if kind == RETRY_TIMER:
        return ix.state is Q and ix.held_until is None
    return ix.held_until is not None
