"""The routing engine: `apply(command, now)` is the single entry point; it returns events."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

from app.routing import commands as c
from app.routing import events as e
from app.routing import hours
from app.routing.errors import (
    DuplicateInteractionError,
    InvalidCommandError,
    InvalidStateError,
    OfferExpiredError,
    QueueNotEmptyError,
    UnknownAgentError,
    UnknownInteractionError,
    UnknownQueueError,
    WrongAgentError,
)
from app.routing.model import (
    MISSED_REASON,
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    ClosedPolicy,
    CustomerId,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    Requirement,
    SelectionStrategy,
)
from app.routing.policies import wait_rank
from app.routing.queries import QueriesMixin
from app.routing.state import (
    CHANNEL_INDEX,
    CHANNELS,
    AgentRt,
    Bucket,
    Ix,
    Pool,
    QueueRt,
    WaitEntry,
    personal_head,
)
from app.routing.stats import StatsCollector

Q = InteractionState.QUEUED
OFFERED = InteractionState.OFFERED

_OFFER, _ESCALATE, _WRAP, _STICKY, _CALLBACK, _RETRY = range(6)

Handler = Callable[[Any, float, list[e.Event]], None]


def implicit_queue_id(skills: Requirement) -> QueueId:
    """The id of the implicit queue the engine makes for a bare skill set."""
    parts = sorted(f"{r.skill}:{r.min_level}" for r in skills)
    return QueueId("skills:" + "+".join(parts))


class Engine(QueriesMixin):
    """Skill-based routing state; pure: every call takes `now` and returns what happened."""

    def __init__(self) -> None:
        self._queues: dict[QueueId, QueueRt] = {}
        self._agents: dict[AgentId, AgentRt] = {}
        self._open: dict[InteractionId, Ix] = {}
        self._pools: dict[tuple[Requirement, Channel, SelectionStrategy], Pool] = {}
        self._by_skill: dict[str, set[AgentRt]] = {}
        self._timers: list[tuple[float, int, int, Ix, int]] = []
        self._timer_seq = 0
        self._next_seq = 0
        self._offer_seq = 0
        self._last_agent: dict[CustomerId, AgentId] = {}
        self._restored = False
        self.collector = StatsCollector()
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

    def next_deadline(self) -> float | None:
        """When the earliest pending timer is due (send `Tick` then), or None."""
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

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
        queue.tiers = _tiers(config)
        out.append(e.QueueConfigured(now, config.id))
        waiting = sorted((ix for ix in queue.members if ix.state is Q), key=lambda ix: ix.seq)
        for ix in waiting:
            ix.tier = min(ix.tier, len(config.escalation))
            self._enqueue(ix, now, out)

    def _drop_buckets(self, queue: QueueRt) -> None:
        for buckets in queue.buckets.values():
            for bucket in buckets:
                bucket.pool.buckets.remove(bucket)
        queue.buckets = {}

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

    def _install_agent(self, config: AgentConfig, now: float) -> AgentRt:
        _validate_agent(config)
        agent = self._agents.get(config.id)
        if agent is None:
            agent = self._agents[config.id] = AgentRt(config, idle_since=now)
        else:
            self._clock(agent, now)
            self._unindex_agent(agent)
            agent.configure(config)
        for skill in config.skills:
            self._by_skill.setdefault(skill, set()).add(agent)
        for pool in self._pools.values():
            if agent.eligible(pool.required, pool.ch):
                pool.members.add(agent)
                agent.pools.append(pool)
        agent.version += 1
        return agent

    def _unindex_agent(self, agent: AgentRt) -> None:
        for skill in agent.config.skills:
            self._by_skill.get(skill, set()).discard(agent)
        for pool in agent.pools:
            pool.members.discard(agent)
        agent.pools = []

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
        self._settle(agent, now, out)

    def _change_state(
        self, agent: AgentRt, state: AgentState, reason: str | None, now: float, out: list[e.Event]
    ) -> None:
        if agent.state is state and agent.reason == reason:
            return
        self._clock(agent, now)
        previous = agent.state
        agent.state, agent.reason = state, reason
        agent.version += 1
        if state is AgentState.AVAILABLE:
            agent.idle_since = now
        agent.clock_at = None if state is AgentState.OFFLINE else now
        out.append(e.AgentStateChanged(now, agent.id, state, reason, previous))

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
        if not hours.is_open(config.hours, now):
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
        seq = self._take_seq()
        ix = Ix(
            id=cmd.interaction_id,
            channel=cmd.channel,
            ch=CHANNEL_INDEX[cmd.channel],
            queue=queue,
            priority=cmd.priority,
            customer_id=cmd.customer_id,
            arrived_at=queued_at,
            queued_at=queued_at,
            entered_queue_at=queued_at,
            seq=seq,
        )
        self._admit(ix, now, out)
        if callback_at is not None:
            self._hold_for_callback(ix, callback_at, now, out)
            return
        preferred = self._preferred(cmd, queue, ix)
        if preferred is not None and self._try_preferred(ix, preferred, now, out):
            return
        self._enqueue(ix, now, out)
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

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _admit(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        queue = ix.queue
        self._open[ix.id] = ix
        queue.members.add(ix)
        heapq.heappush(queue.age_heap, (ix.queued_at, ix.seq, ix))
        ix.history.append((now, "queued", queue.id))
        self.collector.arrived(queue.id, now)
        out.append(
            e.InteractionQueued(now, ix.id, queue.id, ix.channel, ix.priority, ix.queued_at, ix.seq)
        )

    def _hold_for_callback(self, ix: Ix, at: float, now: float, out: list[e.Event]) -> None:
        ix.held_until = at
        self._add_timer(at, _CALLBACK, ix, ix.ticket)
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
        self._add_timer(ix.sticky_until, _STICKY, ix, 0)
        self._enqueue(ix, now, out)
        self._schedule_escalation(ix)
        return True

    # ---- routing -------------------------------------------------------------------------

    def _buckets(self, ix: Ix) -> tuple[Bucket, ...]:
        queue = ix.queue
        key = (ix.tier, ix.ch)
        buckets = queue.buckets.get(key)
        if buckets is None:
            alternatives = queue.tiers[ix.tier][0]
            made = []
            for required in alternatives:
                pool = self._pool(required, ix.channel, queue.config.strategy)
                bucket = Bucket(queue, pool)
                pool.buckets.append(bucket)
                made.append(bucket)
            buckets = queue.buckets[key] = tuple(made)
        return buckets

    def _pool(self, required: Requirement, channel: Channel, strategy: SelectionStrategy) -> Pool:
        key = (required, channel, strategy)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        ch = CHANNEL_INDEX[channel]
        pool = self._pools[key] = Pool(required, channel, ch, strategy)
        for agent in self._candidates(required):
            if agent.eligible(required, ch):
                pool.members.add(agent)
                agent.pools.append(pool)
                if agent.has_room(ch):
                    pool.push_free(agent)
        return pool

    def _candidates(self, required: Requirement) -> list[AgentRt]:
        if not required:
            return list(self._agents.values())
        sets = [self._by_skill.get(r.skill, set()) for r in required]
        smallest = min(sets, key=lambda agents: len(agents))
        return sorted(smallest, key=lambda agent: agent.id)

    def _rank(self, ix: Ix) -> float:
        config = ix.queue.config
        priority = ix.priority + config.priority + ix.queue.tiers[ix.tier][1]
        return wait_rank(priority, config.aging_per_s, ix.queued_at)

    def _enqueue(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        """Offer `ix` to the best free eligible agent, or put it in its heaps to wait."""
        if ix.held_until is not None:
            return
        ix.ticket += 1
        ix.rank = rank = self._rank(ix)
        target = ix.target_agent
        if target is not None:
            if target.has_room(ix.ch) and not _declined(ix, target, now):
                self._offer(ix, target, now, out)
                self._index_free(target)
                return
            heapq.heappush(target.personal, (rank, ix.queued_at, ix.seq, ix.ticket, ix))
            return
        buckets = self._buckets(ix)
        for bucket in buckets:
            agent = bucket.pool.best_free(ix.declined, now)
            if agent is not None:
                self._offer(ix, agent, now, out)
                self._index_free(agent)
                return
        entry = (rank, ix.queued_at, ix.seq, ix.ticket, ix)
        for bucket in buckets:
            heapq.heappush(bucket.heap, entry)

    def _settle(self, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        """Fill the agent's free capacity from what waits for it, then index what is left."""
        while agent.state is AgentState.AVAILABLE and not agent.exclusive_held:
            ix = self._best_waiting(agent, now)
            if ix is None:
                break
            self._offer(ix, agent, now, out)
        self._index_free(agent)

    def _best_waiting(self, agent: AgentRt, now: float) -> Ix | None:
        """The waiting interaction this agent should take next: scans bucket heads only."""
        best: WaitEntry | None = None
        best_key: tuple[float, float, int] | None = None
        entry = personal_head(agent)
        if entry is not None and agent.has_room(entry[4].ch):
            aging = entry[4].queue.config.aging_per_s
            best, best_key = entry, (entry[0] - aging * now, entry[1], entry[2])
        room: list[bool | None] = [None] * len(CHANNELS)
        for pool in agent.pools:
            if not pool.buckets:
                continue
            has_room = room[pool.ch]
            if has_room is None:
                has_room = room[pool.ch] = agent.has_room(pool.ch)
            if not has_room:
                continue
            for bucket in pool.buckets:
                entry = _head_for(bucket, agent, now)
                if entry is None:
                    continue
                key = (entry[0] - bucket.queue.config.aging_per_s * now, entry[1], entry[2])
                if best_key is None or key < best_key:
                    best, best_key = entry, key
        return best[4] if best is not None else None

    def _index_free(self, agent: AgentRt) -> None:
        agent.version += 1
        if agent.state is not AgentState.AVAILABLE or agent.exclusive_held:
            return
        for pool in agent.pools:
            if agent.has_room(pool.ch):
                pool.push_free(agent)

    def _offer(self, ix: Ix, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        self._clock(agent, now)
        config = ix.queue.config
        ix.state = OFFERED
        ix.agent = agent
        ix.queue.offered += 1
        timeout_s = config.offer_timeout_s
        expires_at = now + timeout_s if timeout_s > 0 else math.inf
        ix.offer_expires_at = expires_at
        agent.take(ix)
        self._offer_seq += 1
        agent.last_offer_seq = self._offer_seq
        agent.idle_since = now
        if timeout_s > 0:
            self._add_timer(expires_at, _OFFER, ix, ix.ticket)
        out.append(e.InteractionOffered(now, ix.id, ix.queue.id, agent.id, expires_at))

    def _return_offer(
        self,
        ix: Ix,
        now: float,
        out: list[e.Event],
        kind: type[e.OfferRejected] | type[e.OfferTimedOut] | type[e.OfferRevoked],
    ) -> AgentRt:
        """Take an open offer back; the interaction returns to its original place."""
        agent = ix.agent
        assert agent is not None
        self._clock(agent, now)
        agent.release(ix)
        ix.queue.offered -= 1
        ix.state = Q
        ix.agent = None
        ix.offer_expires_at = None
        if kind is not e.OfferRevoked:
            if ix.declined is None:
                ix.declined = {}
            retry_at = now + ix.queue.config.reoffer_after_s
            ix.declined[agent.id] = retry_at
            self._add_timer(retry_at, _RETRY, ix, 0)
        out.append(kind(now, ix.id, ix.queue.id, agent.id))
        self._escalate_due(ix, now, out)
        self._enqueue(ix, now, out)
        return agent

    # ---- answering and ending ------------------------------------------------------------

    def _offered_to(self, interaction_id: InteractionId, agent_id: AgentId) -> Ix:
        ix = self._ix(interaction_id)
        self._agent(agent_id)
        if ix.state is not OFFERED:
            raise InvalidStateError(f"{interaction_id} is {ix.state}, not offered")
        assert ix.agent is not None
        if ix.agent.id != agent_id:
            raise WrongAgentError(f"{interaction_id} is offered to another agent")
        return ix

    def _accept(self, cmd: c.Accept, now: float, out: list[e.Event]) -> None:
        ix = self._offered_to(cmd.interaction_id, cmd.agent_id)
        assert ix.offer_expires_at is not None
        if now >= ix.offer_expires_at:
            raise OfferExpiredError(f"the offer of {cmd.interaction_id} expired")
        queue = ix.queue
        ix.state = InteractionState.ACTIVE
        ix.answered_at = now
        ix.offer_expires_at = None
        queue.offered -= 1
        queue.members.discard(ix)
        wait_s = now - ix.queued_at
        ix.history.append((now, "answered", cmd.agent_id))
        self.collector.answered(queue.id, now, wait_s, queue.config.sl_threshold_s)
        if ix.customer_id is not None and queue.config.sticky_s > 0:
            self._last_agent[ix.customer_id] = cmd.agent_id
        out.append(e.OfferAccepted(now, ix.id, queue.id, cmd.agent_id, wait_s))

    def _reject(self, cmd: c.Reject, now: float, out: list[e.Event]) -> None:
        ix = self._offered_to(cmd.interaction_id, cmd.agent_id)
        agent = self._return_offer(ix, now, out, e.OfferRejected)
        self._settle(agent, now, out)

    def _time_out_offer(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        agent = ix.agent
        assert agent is not None
        if ix.queue.config.missed_policy:
            self._change_state(agent, AgentState.BUSY, MISSED_REASON, now, out)
        self._return_offer(ix, now, out, e.OfferTimedOut)
        self._settle(agent, now, out)

    def _complete(self, cmd: c.Complete, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state is not InteractionState.ACTIVE:
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}, not active")
        agent = ix.agent
        assert agent is not None
        wrap_up_s = ix.queue.config.wrap_up_s
        ix.state = InteractionState.WRAP_UP
        ix.wrap_up_at = now
        ix.ticket += 1
        out.append(e.WrapUpStarted(now, ix.id, ix.queue.id, agent.id, now + wrap_up_s))
        if wrap_up_s <= 0:
            self._finish(ix, now, out)
            return
        self._add_timer(now + wrap_up_s, _WRAP, ix, ix.ticket)

    def _finish_wrap_up(self, cmd: c.FinishWrapUp, now: float, out: list[e.Event]) -> None:
        ix = self._ix(cmd.interaction_id)
        if ix.state is not InteractionState.WRAP_UP:
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}, not in wrap-up")
        self._finish(ix, now, out)

    def _finish(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        agent = ix.agent
        assert agent is not None and ix.answered_at is not None
        self._clock(agent, now)
        agent.release(ix)
        agent.idle_since = now
        handle_s = now - ix.answered_at
        ix.state = InteractionState.COMPLETED
        del self._open[ix.id]
        self.collector.completed(ix.queue.id, agent.id, now, handle_s)
        out.append(e.InteractionCompleted(now, ix.id, ix.queue.id, agent.id, handle_s))
        self._settle(agent, now, out)

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
        if ix.state not in (Q, OFFERED, InteractionState.ACTIVE):
            raise InvalidStateError(f"{cmd.interaction_id} is {ix.state}; cannot transfer")
        from_queue, from_agent = ix.queue, ix.agent
        self._leave_for_transfer(ix, now)
        ix.history.append((now, InteractionState.TRANSFERRED, queue.id))
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
        self._admit(ix, now, out)
        self._enqueue(ix, now, out)
        self._schedule_escalation(ix)
        if from_agent is not None:
            self._settle(from_agent, now, out)

    def _leave_for_transfer(self, ix: Ix, now: float) -> None:
        if ix.state is OFFERED:
            ix.queue.offered -= 1
        ix.queue.members.discard(ix)
        if ix.agent is not None:
            self._clock(ix.agent, now)
            ix.agent.release(ix)
        ix.agent = None
        ix.state = Q
        ix.esc_ticket += 1

    # ---- timers --------------------------------------------------------------------------

    def _add_timer(self, due: float, kind: int, ix: Ix, ticket: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, kind, ix, ticket))

    def _timer_live(self, timer: tuple[float, int, int, Ix, int]) -> bool:
        _, _, kind, ix, ticket = timer
        if ix.id not in self._open or self._open[ix.id] is not ix:
            return False
        if kind == _OFFER:
            return ix.state is OFFERED and ix.ticket == ticket
        if kind == _WRAP:
            return ix.state is InteractionState.WRAP_UP and ix.ticket == ticket
        if kind == _ESCALATE:
            return ix.state in (Q, OFFERED) and ix.esc_ticket == ticket
        if kind == _STICKY:
            return ix.state is Q and ix.sticky_until is not None
        if kind == _RETRY:
            return ix.state is Q and ix.held_until is None
        return ix.held_until is not None

    def _tick(self, cmd: c.Tick, now: float, out: list[e.Event]) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)
            if self._timer_live(timer):
                self._fire(timer[2], timer[3], timer[0], out)
        if self._restored:
            self._restored = False
            for agent in sorted(self._agents.values(), key=lambda agent: agent.id):
                self._settle(agent, now, out)

    def _fire(self, kind: int, ix: Ix, now: float, out: list[e.Event]) -> None:
        if kind == _OFFER:
            self._time_out_offer(ix, now, out)
        elif kind == _WRAP:
            self._finish(ix, now, out)
        elif kind == _ESCALATE:
            if ix.state is Q and self._escalate_due(ix, now, out):
                self._enqueue(ix, now, out)
        elif kind == _STICKY:
            ix.target_agent = ix.sticky_until = None
            self._enqueue(ix, now, out)
        elif kind == _RETRY:
            # A decliner's pause is over: route again from the same place in line.
            self._enqueue(ix, now, out)
        else:
            ix.held_until = None
            ix.queued_at = ix.entered_queue_at = now
            self._enqueue(ix, now, out)
            self._schedule_escalation(ix)

    def _schedule_escalation(self, ix: Ix) -> None:
        steps = ix.queue.config.escalation
        if ix.tier < len(steps) and (ix.target_agent is None or ix.sticky_until is not None):
            due = ix.entered_queue_at + steps[ix.tier].after_s
            self._add_timer(due, _ESCALATE, ix, ix.esc_ticket)

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
            heapq.heappush(target.age_heap, (ix.queued_at, ix.seq, ix))
            ix.queue, ix.tier, ix.entered_queue_at = target, 0, now
        ix.history.append((now, "escalated", ix.queue.id))
        out.append(e.InteractionEscalated(now, ix.id, queue.id, step_index, ix.queue.id))

    # ---- recovery ------------------------------------------------------------------------

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
        self._next_seq = max(self._next_seq, cmd.seq + 1)
        self._open[ix.id] = ix
        queue.members.add(ix)
        heapq.heappush(queue.age_heap, (ix.queued_at, ix.seq, ix))
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
        )

    def _push_waiting(self, ix: Ix) -> None:
        """Put `ix` in its heaps without routing (recovery: the next Tick routes)."""
        ix.ticket += 1
        ix.rank = self._rank(ix)
        entry = (ix.rank, ix.queued_at, ix.seq, ix.ticket, ix)
        if ix.target_agent is not None:
            heapq.heappush(ix.target_agent.personal, entry)
            return
        for bucket in self._buckets(ix):
            heapq.heappush(bucket.heap, entry)

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
            self._add_timer(ix.wrap_up_at + queue.config.wrap_up_s, _WRAP, ix, ix.ticket)
        else:
            ix.state = InteractionState.ACTIVE
        self._restored = True
        out.append(e.InteractionRestored(now, ix.id, queue.id, ix.state))

    # ---- helpers -------------------------------------------------------------------------

    def _clock(self, agent: AgentRt, now: float) -> None:
        """Account the agent's time since the last change (for occupancy)."""
        if agent.clock_at is not None and agent.state is AgentState.AVAILABLE:
            self.collector.agent_span(agent.id, agent.clock_at, now, agent.total > 0)
        if agent.state is not AgentState.OFFLINE:
            agent.clock_at = now

    def _ix(self, interaction_id: InteractionId) -> Ix:
        ix = self._open.get(interaction_id)
        if ix is None:
            raise UnknownInteractionError(interaction_id)
        return ix

    def _agent(self, agent_id: AgentId) -> AgentRt:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent

    def _queue(self, queue_id: QueueId) -> QueueRt:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueueError(queue_id)
        return queue


def _declined(ix: Ix, agent: AgentRt, now: float) -> bool:
    """True while `agent` is skipped for `ix` after rejecting or missing it."""
    return ix.declined is not None and ix.declined.get(agent.id, -math.inf) > now


def _head_for(bucket: Bucket, agent: AgentRt, now: float) -> WaitEntry | None:
    """The bucket's first live entry this agent has not recently declined."""
    entry = bucket.head()
    if entry is None or not entry[4].declined or not _declined(entry[4], agent, now):
        return entry
    skipped = []
    while entry is not None and _declined(entry[4], agent, now):
        skipped.append(heapq.heappop(bucket.heap))
        entry = bucket.head()
    for item in skipped:
        heapq.heappush(bucket.heap, item)
    return entry


def _tiers(config: QueueConfig) -> list[tuple[tuple[Requirement, ...], int]]:
    """Requirement alternatives and priority bonus after each number of escalation steps."""
    main, extra, bonus = config.required, list[Requirement](), 0
    tiers: list[tuple[tuple[Requirement, ...], int]] = [((main,), 0)]
    for step in config.escalation:
        if step.required is not None:
            main = step.required
        if step.also is not None:
            extra.append(step.also)
        bonus += step.priority_delta
        alternatives = tuple(dict.fromkeys([main, *extra]))
        tiers.append((alternatives, bonus))
    return tiers


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


def _validate_agent(config: AgentConfig) -> None:
    for skill, level in config.skills.items():
        if not 1 <= level <= 10:
            raise InvalidCommandError(f"skill {skill} level {level} is outside 1..10")
    if any(n < 0 for n in config.capacity.values()):
        raise InvalidCommandError("capacity must be >= 0")
