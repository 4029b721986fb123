"""The routing engine: `apply(command, now)` is the single entry point; it returns events.

This module holds the command handlers for configuration, arrivals, answers and endings;
the layers below hold the rest (see core.py): escalation.py, offers.py, timers.py,
recovery.py and queries.py.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from app.routing import commands as c
from app.routing import events as e
from app.routing import hours
from app.routing.core import CALLBACK_TIMER, RETRY_TIMER, STICKY_TIMER, WRAP_TIMER
from app.routing.errors import (
    AgentUnavailableError,
    DuplicateInteractionError,
    InvalidCommandError,
    InvalidStateError,
    OfferExpiredError,
    QueueFullError,
    QueueNotEmptyError,
    WrongAgentError,
)
from app.routing.escalation import tiers
from app.routing.model import (
    AgentId,
    AgentState,
    ClosedPolicy,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    Requirement,
)
from app.routing.queries import QueriesMixin
from app.routing.recovery import RecoveryMixin
from app.routing.state import CHANNEL_INDEX, OFFERED, AgentRt, Ix, Q, QueueRt, enline, unline
from app.routing.timers import TimersMixin

_ACTIVE = InteractionState.ACTIVE
_WRAP_UP = InteractionState.WRAP_UP

Handler = Callable[[Any, float, list[e.Event]], None]


IMPLICIT_QUEUE_PREFIX = "skills:"


def implicit_queue_id(skills: Requirement) -> QueueId:
    """The id of the implicit queue the engine makes for a bare skill set."""
    parts = sorted(f"{r.skill}:{r.min_level}" for r in skills)
    return QueueId(IMPLICIT_QUEUE_PREFIX + "+".join(parts))


def is_implicit_queue(queue_id: QueueId) -> bool:
    """True for a queue the engine made for a skill set rather than one configured by staff."""
    return queue_id.startswith(IMPLICIT_QUEUE_PREFIX)


class Engine(TimersMixin, RecoveryMixin, QueriesMixin):
    """Skill-based routing state; pure: every call takes `now` and returns what happened."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[type, Handler] = {
            c.UpsertQueue: self._upsert_queue,
            c.RemoveQueue: self._remove_queue,
            c.UpsertAgent: self._upsert_agent,
            c.SetAgentState: self._set_agent_state,
            c.Arrive: self._arrive,
            c.Accept: self._accept,
            c.Reject: self._reject,
            c.Abandon: self._abandon,
            c.Cancel: self._cancel,
            c.Complete: self._complete,
            c.FinishWrapUp: self._finish_wrap_up,
            c.Transfer: self._transfer,
            c.SetPriority: self._set_priority,
            c.Tick: self._tick,
            c.RestoreAgent: self._restore_agent,
            c.RestoreQueued: self._restore_queued,
            c.RestoreAssigned: self._restore_assigned,
        }

    def apply(self, command: c.Command, now: float) -> list[e.Event]:
        """Apply one command at `now`; raise a `RoutingError` (state unchanged) if invalid."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise InvalidCommandError(f"not a routing command: {type(command).__name__}")
        out: list[e.Event] = []
        handler(command, now, out)
        return out

    # ---- configuration -------------------------------------------------------------------

    def _upsert_queue(self, cmd: c.UpsertQueue, now: float, out: list[e.Event]) -> None:
        config = cmd.config
        _validate_queue(config)
        queue = self._queues.get(config.id)
        if queue is None:
            queue = self._queues[config.id] = QueueRt(config)
        else:
            self._drop_buckets(queue)
            queue.config = config
        queue.tiers = tiers(config)
        out.append(e.QueueConfigured(now, config.id))
        waiting = sorted((ix for ix in queue.members if ix.state is Q), key=lambda ix: ix.seq)
        for ix in waiting:
            ix.tier = min(ix.tier, len(config.escalation))
            self._enqueue(ix, now, out)

    def _remove_queue(self, cmd: c.RemoveQueue, now: float, out: list[e.Event]) -> None:
        queue = self._queue(cmd.queue_id)
        if queue.members:
            raise QueueNotEmptyError(f"queue {cmd.queue_id} has {len(queue.members)} interactions")
        self._drop_buckets(queue)
        del self._queues[cmd.queue_id]
        out.append(e.QueueRemoved(now, cmd.queue_id))

    def _upsert_agent(self, cmd: c.UpsertAgent, now: float, out: list[e.Event]) -> None:
        agent = self._install_agent(cmd.config, now)
        out.append(e.AgentConfigured(now, agent.id))
        self._revoke_unfit_offers(agent, now, out)
        self._settle(agent, now, out)

    def _revoke_unfit_offers(self, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        for ix in sorted(agent.holding, key=lambda ix: ix.seq):
            if ix.state is OFFERED and not self._fits(agent, ix):
                self._return_offer(ix, now, out, e.OfferRevoked)

    def _fits(self, agent: AgentRt, ix: Ix) -> bool:
        if ix.target_agent is agent:
            return True
        alternatives = ix.queue.tiers[ix.tier][0]
        return any(agent.eligible(required, ix.ch) for required in alternatives)

    def _set_agent_state(self, cmd: c.SetAgentState, now: float, out: list[e.Event]) -> None:
        agent = self._agent(cmd.agent_id)
        reason = cmd.reason if cmd.state is AgentState.BUSY else None
        self._change_state(agent, cmd.state, reason, now, out)
        if cmd.state is AgentState.OFFLINE:
            for ix in sorted(agent.holding, key=lambda ix: ix.seq):
                if ix.state is OFFERED:
                    self._return_offer(ix, now, out, e.OfferRevoked)
        if cmd.state is not AgentState.AVAILABLE:
            # Held for her (a named transfer, a returning customer): back to their queues.
            self._release_held_for(agent, now, out)
        self._settle(agent, now, out)

    # ---- arrivals ------------------------------------------------------------------------

    def _arrive(self, cmd: c.Arrive, now: float, out: list[e.Event]) -> None:
        if cmd.interaction_id in self._open:
            raise DuplicateInteractionError(cmd.interaction_id)
        if cmd.preferred_agent is not None:
            self._agent(cmd.preferred_agent)
        queue = self._arrival_queue(cmd, now, out)
        queued_at = now if cmd.queued_at is None else cmd.queued_at
        config = queue.config
        callback_at = None
        if config.hours is not None and not hours.is_open(config.hours, now):
            if config.closed_policy is ClosedPolicy.REFUSE:
                out.append(e.InteractionRefused(now, cmd.interaction_id, queue.id, "closed"))
                return
            callback_at = hours.next_open(config.hours, now)
            if callback_at is None:
                out.append(e.InteractionRefused(now, cmd.interaction_id, queue.id, "closed"))
                return
        if config.max_size is not None and len(queue.members) >= config.max_size:
            out.append(e.InteractionRefused(now, cmd.interaction_id, queue.id, "queue_full"))
            return
        seq = self._next_seq
        self._next_seq = seq + 1
        # Positional, in field order: keywords to this many-field class cost about a
        # microsecond more, on every arrival.
        ix = Ix(
            cmd.interaction_id,  # id
            cmd.channel,  # channel
            CHANNEL_INDEX[cmd.channel],  # ch
            queue,  # queue
            cmd.priority,  # priority
            cmd.customer_id,  # customer_id
            queued_at,  # arrived_at
            queued_at,  # queued_at
            queued_at,  # entered_queue_at
            seq,  # seq
            self._take_uid(),  # uid
        )
        self._admit(ix, now, out)
        if callback_at is not None:
            self._hold_for_callback(ix, callback_at, now, out)
            return
        # Only look for a preferred agent when there can be one (most arrivals have none).
        if cmd.preferred_agent is not None or (cmd.customer_id is not None and config.sticky_s > 0):
            preferred = self._preferred(cmd, queue, ix)
            if preferred is not None and self._try_preferred(ix, preferred, now, out):
                return
        self._enqueue(ix, now, out)
        if config.escalation:
            self._schedule_escalation(ix)

    def _arrival_queue(self, cmd: c.Arrive, now: float, out: list[e.Event]) -> QueueRt:
        if (cmd.queue_id is None) == (cmd.skills is None):
            raise InvalidCommandError("Arrive needs exactly one of queue_id or skills")
        if cmd.queue_id is not None:
            return self._queue(cmd.queue_id)
        assert cmd.skills is not None
        queue_id = implicit_queue_id(cmd.skills)
        queue = self._queues.get(queue_id)
        if queue is None:
            self._upsert_queue(c.UpsertQueue(QueueConfig(queue_id, required=cmd.skills)), now, out)
            queue = self._queues[queue_id]
        return queue

    def _admit(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        queue = ix.queue
        queue_id = queue.config.id
        self._open[ix.id] = ix
        queue.members.add(ix)
        heapq.heappush(queue.age_heap, (ix.queued_at, ix.seq, ix.id))
        ix.history += (now, "queued", queue_id)
        self.collector.arrived(queue_id, now)
        out.append(
            e.InteractionQueued(now, ix.id, queue_id, ix.channel, ix.priority, ix.queued_at, ix.seq)
        )

    def _hold_for_callback(self, ix: Ix, at: float, now: float, out: list[e.Event]) -> None:
        ix.held_until = at
        # Held callbacks keep their own line in the queue, in arrival (seq) order.
        enline(ix, ix.queue.held, (0.0, 0.0, ix.seq, ix.id))
        self._add_timer(at, CALLBACK_TIMER, ix, ix.ticket)
        out.append(e.CallbackScheduled(now, ix.id, ix.queue.id, at))

    def _preferred(self, cmd: c.Arrive, queue: QueueRt, ix: Ix) -> AgentRt | None:
        agent_id = cmd.preferred_agent
        if agent_id is None and cmd.customer_id is not None and queue.config.sticky_s > 0:
            agent_id = self._last_agent.get(cmd.customer_id)
        agent = self._agents.get(agent_id) if agent_id is not None else None
        if agent is None or agent.state is AgentState.OFFLINE or not self._fits(agent, ix):
            return None
        return agent

    def _try_preferred(self, ix: Ix, agent: AgentRt, now: float, out: list[e.Event]) -> bool:
        """Offer to the preferred agent if free, else hold for them up to `sticky_s`."""
        if agent.has_room(ix.ch):
            self._offer(ix, agent, now, out)
            self._index_free(agent)
            self._schedule_escalation(ix)
            return True
        sticky_s = ix.queue.config.sticky_s
        if sticky_s <= 0:
            return False
        ix.target_agent = agent
        ix.sticky_until = ix.queued_at + sticky_s
        self._add_timer(ix.sticky_until, STICKY_TIMER, ix, 0)
        self._enqueue(ix, now, out)
        self._schedule_escalation(ix)
        return True

    # ---- answering and ending ------------------------------------------------------------

    def _offered_to(self, interaction_id: InteractionId, agent_id: AgentId) -> Ix:
        ix = self._open.get(interaction_id)
        if ix is None:
            ix = self._ix(interaction_id)  # raises UnknownInteractionError
        holder = ix.agent
        # Offered to this (hence known) agent: the common case, without an agents lookup.
        if ix.state is OFFERED and holder is not None and holder.config.id == agent_id:
            return ix
        self._agent(agent_id)  # raises UnknownAgentError for an unknown agent
        if ix.state is not OFFERED:
            raise InvalidStateError(f"{interaction_id} is {ix.state}, not offered")
        raise WrongAgentError(f"{interaction_id} is offered to another agent")

    def _accept(self, cmd: c.Accept, now: float, out: list[e.Event]) -> None:
        agent_id = cmd.agent_id
        ix = self._offered_to(cmd.interaction_id, agent_id)
        assert ix.offer_expires_at is not None
        if now >= ix.offer_expires_at:
            raise OfferExpiredError(f"the offer of {cmd.interaction_id} expired")
        queue = ix.queue
        config = queue.config
        ix.state = _ACTIVE
        ix.answered_at = now
        ix.offer_expires_at = None
        queue.offered -= 1
        queue.members.discard(ix)
        wait_s = now - ix.queued_at
        ix.history += (now, "answered", agent_id)
        self.collector.answered(config.id, now, wait_s, config.sl_threshold_s)
        if ix.customer_id is not None and config.sticky_s > 0:
            self._remember_last_agent(ix.customer_id, agent_id)
        out.append(e.OfferAccepted(now, ix.id, config.id, agent_id, wait_s))

    def _reject(self, cmd: c.Reject, now: float, out: list[e.Event]) -> None:
        ix = self._offered_to(cmd.interaction_id, cmd.agent_id)
        agent = self._return_offer(ix, now, out, e.OfferRejected)
        self._settle(agent, now, out)

    def _complete(self, cmd: c.Complete, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state is not _ACTIVE:
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}, not active")
        agent = ix.agent
        assert agent is not None
        wrap_up_s = ix.queue.config.wrap_up_s
        ix.state = _WRAP_UP
        ix.wrap_up_at = now
        ix.ticket += 1
        out.append(
            e.WrapUpStarted(now, ix.id, ix.queue.config.id, agent.config.id, now + wrap_up_s)
        )
        if wrap_up_s <= 0:
            self._finish(ix, now, out)
            return
        self._add_timer(now + wrap_up_s, WRAP_TIMER, ix, ix.ticket)

    def _finish_wrap_up(self, cmd: c.FinishWrapUp, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state is not _WRAP_UP:
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}, not in wrap-up")
        self._finish(ix, now, out)

    def _abandon(self, cmd: c.Abandon, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state not in (Q, OFFERED):
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}; only waiting can abandon")
        queue = ix.queue
        wait_s = now - ix.queued_at
        agent = self._leave(ix, InteractionState.ABANDONED, now)
        self.collector.abandoned(queue.id, now, wait_s, queue.config.sl_threshold_s)
        out.append(e.InteractionAbandoned(now, ix.id, queue.id, wait_s))
        if agent is not None:
            self._settle(agent, now, out)

    def _set_priority(self, cmd: c.SetPriority, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state is not Q:
            raise InvalidStateError(
                f"{cmd.interaction_id} is {ix.state}; only a waiting interaction is re-prioritised"
            )
        before, ix.priority = ix.priority, cmd.priority
        out.append(e.InteractionReprioritized(now, ix.id, ix.queue.id, before, cmd.priority))
        # Re-ranked in its lines (a held callback keeps the priority for when it is released).
        self._enqueue(ix, now, out)

    def _cancel(self, cmd: c.Cancel, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        agent = self._leave(ix, InteractionState.CANCELLED, now)
        out.append(e.InteractionCancelled(now, ix.id, ix.queue.id))
        if agent is not None:
            self._settle(agent, now, out)

    def _leave(self, ix: Ix, state: InteractionState, now: float) -> AgentRt | None:
        """Close `ix` in a final state, freeing its queue place and agent capacity."""
        agent = ix.agent
        if ix.state is OFFERED:
            ix.queue.offered -= 1
        ix.queue.members.discard(ix)
        unline(ix)
        if agent is not None:
            self._clock(agent, now)
            agent.release(ix)
        ix.state = state
        ix.agent = None
        ix.ticket += 1
        del self._open[ix.id]
        return agent

    def _transfer(self, cmd: c.Transfer, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if (cmd.to_queue is None) == (cmd.to_agent is None):
            raise InvalidCommandError("Transfer needs exactly one of to_queue or to_agent")
        queue = self._queue(cmd.to_queue) if cmd.to_queue is not None else ix.queue
        target = self._agent(cmd.to_agent) if cmd.to_agent is not None else None
        if ix.state not in (Q, OFFERED, _ACTIVE):
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}; cannot transfer")
        _check_transfer_target(ix, queue, target)
        from_queue, from_agent = ix.queue, ix.agent
        self._leave_for_transfer(ix, now)
        ix.history += (now, InteractionState.TRANSFERRED, queue.id)
        out.append(
            e.InteractionTransferred(
                now,
                ix.id,
                from_queue.id,
                from_agent.id if from_agent else None,
                queue.id,
                target.id if target else None,
            )
        )
        ix.queue, ix.target_agent = queue, target
        ix.queued_at = ix.entered_queue_at = now
        ix.seq = self._take_seq()
        ix.tier, ix.declined, ix.answered_at = 0, None, None
        ix.sticky_until = ix.held_until = None
        if from_agent is not None and target is None:
            # Handed on to a queue: not straight back to the agent who handed it on.
            retry_at = now + queue.config.reoffer_after_s
            ix.declined = {from_agent.id: retry_at}
            self._add_timer(retry_at, RETRY_TIMER, ix, 0)
        self._admit(ix, now, out)
        self._enqueue(ix, now, out)
        self._schedule_escalation(ix)
        if from_agent is not None:
            self._settle(from_agent, now, out)

    def _leave_for_transfer(self, ix: Ix, now: float) -> None:
        if ix.state is OFFERED:
            ix.queue.offered -= 1
        ix.queue.members.discard(ix)
        unline(ix)
        if ix.agent is not None:
            self._clock(ix.agent, now)
            ix.agent.release(ix)
        ix.agent = None
        ix.state = Q
        ix.esc_ticket += 1


def _check_transfer_target(ix: Ix, queue: QueueRt, target: AgentRt | None) -> None:
    """Refuse a named agent who is not available, or a queue already full of others."""
    if target is not None:
        if target.state is not AgentState.AVAILABLE:
            doing = target.state.value + (f" ({target.reason})" if target.reason else "")
            raise AgentUnavailableError(
                f"That agent is {doing}: a named transfer goes only to an available agent."
            )
        return
    max_size = queue.config.max_size
    if max_size is not None and ix not in queue.members and len(queue.members) >= max_size:
        raise QueueFullError(f"That queue is full: {max_size} are waiting in it already.")


def _validate_queue(config: QueueConfig) -> None:
    if config.max_size is not None and config.max_size < 0:
        raise InvalidCommandError("max_size must be >= 0")
    if config.sl_threshold_s < 0 or config.aging_per_s < 0 or config.wrap_up_s < 0:
        raise InvalidCommandError("durations and aging must be >= 0")
    after = [step.after_s for step in config.escalation]
    if after != sorted(after) or any(a < 0 for a in after):
        raise InvalidCommandError("escalation steps must have ascending after_s >= 0")
    if any(step.overflow_to == config.id for step in config.escalation):
        raise InvalidCommandError("a queue cannot overflow to itself")
    if config.hours is not None:
        try:
            hours.is_open(config.hours, 0.0)
        except (KeyError, ValueError) as exc:
            raise InvalidCommandError(f"bad business hours: {exc}") from exc


__all__ = ["Engine", "implicit_queue_id"]
