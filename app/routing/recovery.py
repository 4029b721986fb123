"""Recovery: the restore commands that rebuild the engine from stored state without routing.

The first `Tick` after a restore settles every agent, so the order of restores does not
change what gets offered.
"""

from __future__ import annotations

import heapq

from app.routing import commands as c
from app.routing import events as e
from app.routing.core import STICKY_TIMER, WRAP_TIMER
from app.routing.errors import DuplicateInteractionError, InvalidCommandError
from app.routing.model import AgentState, InteractionState
from app.routing.offers import OffersMixin
from app.routing.state import CHANNEL_INDEX, Ix, Q, QueueRt, enline, enline_buckets, unline


class RecoveryMixin(OffersMixin):
    """Handlers of `RestoreAgent`, `RestoreQueued` and `RestoreAssigned`."""

    def _restore_agent(self, cmd: c.RestoreAgent, now: float, out: list[e.Event]) -> None:
        agent = self._install_agent(cmd.config, now)
        reason = cmd.reason if cmd.state is AgentState.BUSY else None
        self._change_state(agent, cmd.state, reason, now, [])
        agent.idle_since = 0.0
        self._restored = True
        out.append(e.AgentConfigured(now, agent.id))

    def _restore_queued(self, cmd: c.RestoreQueued, now: float, out: list[e.Event]) -> None:
        if cmd.interaction_id in self._open:
            raise DuplicateInteractionError(cmd.interaction_id)
        queue = self._queue(cmd.queue_id)
        target = self._agent(cmd.target_agent) if cmd.target_agent is not None else None
        if not 0 <= cmd.tier <= len(queue.config.escalation):
            raise InvalidCommandError(f"tier {cmd.tier} out of range for {cmd.queue_id}")
        ix = self._restored_ix(cmd, queue)
        ix.tier, ix.target_agent = cmd.tier, target
        if target is not None and cmd.target_until is not None:
            # A sticky wait goes on until its end, as before the restart (a past end: at once).
            ix.sticky_until = cmd.target_until
            self._add_timer(cmd.target_until, STICKY_TIMER, ix, 0)
        self._next_seq = max(self._next_seq, cmd.seq + 1)
        self._open[ix.id] = ix
        queue.members.add(ix)
        heapq.heappush(queue.age_heap, (ix.queued_at, ix.seq, ix.id))
        self._push_waiting(ix)
        self._schedule_escalation(ix)
        self._restored = True
        out.append(e.InteractionRestored(now, ix.id, queue.id, Q))

    def _restored_ix(self, cmd: c.RestoreQueued | c.RestoreAssigned, queue: QueueRt) -> Ix:
        entered = getattr(cmd, "entered_queue_at", None)
        arrived = getattr(cmd, "arrived_at", None)
        return Ix(
            id=cmd.interaction_id,
            channel=cmd.channel,
            ch=CHANNEL_INDEX[cmd.channel],
            queue=queue,
            priority=cmd.priority,
            customer_id=cmd.customer_id,
            arrived_at=cmd.queued_at if arrived is None else arrived,
            queued_at=cmd.queued_at,
            entered_queue_at=cmd.queued_at if entered is None else entered,
            seq=cmd.seq,
            uid=self._take_uid(),
        )

    def _push_waiting(self, ix: Ix) -> None:
        """Put `ix` in its lines without routing (recovery: the next Tick routes)."""
        unline(ix)
        ix.ticket += 1
        ix.rank = self._rank(ix)
        key = (ix.rank, ix.queued_at, ix.seq, ix.id)
        if ix.target_agent is not None:
            enline(ix, ix.target_agent.personal_line, key)
            return
        enline_buckets(ix, self._buckets(ix), key)

    def _restore_assigned(self, cmd: c.RestoreAssigned, now: float, out: list[e.Event]) -> None:
        if cmd.interaction_id in self._open:
            raise DuplicateInteractionError(cmd.interaction_id)
        queue = self._queue(cmd.queue_id)
        agent = self._agent(cmd.agent_id)
        ix = self._restored_ix(cmd, queue)
        self._next_seq = max(self._next_seq, cmd.seq + 1)
        ix.answered_at, ix.agent = cmd.answered_at, agent
        self._open[ix.id] = ix
        self._clock(agent, now)
        agent.take(ix)
        if cmd.wrap_up:
            ix.state = InteractionState.WRAP_UP
            ix.wrap_up_at = now if cmd.wrap_up_started_at is None else cmd.wrap_up_started_at
            self._add_timer(ix.wrap_up_at + queue.config.wrap_up_s, WRAP_TIMER, ix, ix.ticket)
        else:
            ix.state = InteractionState.ACTIVE
        self._restored = True
        out.append(e.InteractionRestored(now, ix.id, queue.id, ix.state))
