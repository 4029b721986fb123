"""Routing: where a waiting interaction goes, which agent gets an offer, and freed capacity.

These are the hot paths (every arrival, answer and completion runs them), so they read
fields directly and check the common case inline before calling the general helper.
"""

from __future__ import annotations

import math

from app.routing import events as e
from app.routing.core import OFFER_TIMER, RETRY_TIMER
from app.routing.escalation import EscalationMixin
from app.routing.lines import Line, LineKey
from app.routing.model import (
    MISSED_REASON,
    AgentState,
    Channel,
    InteractionState,
    Requirement,
    SelectionStrategy,
)
from app.routing.policies import wait_rank
from app.routing.state import (
    AVAILABLE,
    CHANNEL_INDEX,
    OFFERED,
    AgentRt,
    Bucket,
    Ix,
    Pool,
    Q,
    QueueRt,
    enline,
    enline_buckets,
    unline,
)


class OffersMixin(EscalationMixin):
    """Puts interactions in line or offers them, and fills agents' free capacity."""

    # ---- lines and pools -----------------------------------------------------------------

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
            self._topology += 1
        return buckets

    def _drop_buckets(self, queue: QueueRt) -> None:
        for buckets in queue.buckets.values():
            for bucket in buckets:
                bucket.pool.buckets.remove(bucket)
        queue.buckets = {}
        self._topology += 1

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
                if agent.state is not AgentState.OFFLINE:
                    pool.online_slots += agent.slots(ch)
                if agent.has_room(ch):
                    pool.push_free(agent)
        self._topology += 1
        return pool

    def _candidates(self, required: Requirement) -> list[AgentRt]:
        if not required:
            return list(self._agents.values())
        sets = [self._by_skill.get(r.skill, set()) for r in required]
        smallest = min(sets, key=lambda agents: len(agents))
        return sorted(smallest, key=lambda agent: agent.id)

    def _rank(self, ix: Ix) -> float:
        queue = ix.queue
        config = queue.config
        priority = ix.priority + config.priority + queue.tiers[ix.tier][1]
        return wait_rank(priority, config.aging_per_s, ix.queued_at)

    # ---- routing -------------------------------------------------------------------------

    def _release_held_for(self, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        """Open to their queues the interactions waiting for `agent` alone, who is busy or
        offline: nobody else would take them while she is away."""
        reason = "agent_offline" if agent.state is AgentState.OFFLINE else "agent_busy"
        for key in list(agent.personal_line):
            self._release_to_queue(self._open[key[3]], reason, now, out)

    def _release_to_queue(self, ix: Ix, reason: str, now: float, out: list[e.Event]) -> None:
        """Stop holding waiting `ix` for its one agent: route it to anyone in its queue."""
        agent = ix.target_agent
        assert agent is not None, "only an interaction held for an agent is released"
        ix.target_agent = ix.sticky_until = None
        out.append(e.InteractionRequeued(now, ix.id, ix.queue.id, agent.id, reason))
        self._enqueue(ix, now, out)

    def _enqueue(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        """Offer `ix` to the best free eligible agent, or put it in its lines to wait."""
        if ix.held_until is not None:
            return
        if ix.line is not None:
            unline(ix)
        ix.ticket += 1
        ix.rank = rank = self._rank(ix)
        target = ix.target_agent
        if target is not None:
            if target.has_room(ix.ch) and not _declined(ix, target, now):
                self._offer(ix, target, now, out)
                self._index_free(target)
                return
            enline(ix, target.personal_line, (rank, ix.queued_at, ix.seq, ix.id))
            return
        buckets = ix.queue.buckets.get((ix.tier, ix.ch))
        if buckets is None:
            buckets = self._buckets(ix)
        declined = ix.declined
        for bucket in buckets:
            pool = bucket.pool
            if not pool.free:
                continue
            agent = pool.best_free(declined, now)
            if agent is not None:
                self._offer(ix, agent, now, out)
                self._index_free(agent)
                return
        enline_buckets(ix, buckets, (rank, ix.queued_at, ix.seq, ix.id))

    def _settle(self, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        """Fill the agent's free capacity from what waits for it, then index what is left."""
        while agent.state is AVAILABLE and not agent.exclusive_held:
            ix = self._best_waiting(agent, now)
            if ix is None:
                break
            self._offer(ix, agent, now, out)
        self._index_free(agent)

    def _plan(self, agent: AgentRt) -> list[tuple[int, list[tuple[Line, float]]]]:
        """The bucket lines `agent` can serve, grouped by channel; cached until the topology
        changes (with `agent.pools_by_ch`, the same grouping of its pools)."""
        if agent.plan_version != self._topology:
            lines: dict[int, list[tuple[Line, float]]] = {}
            pools: dict[int, list[Pool]] = {}
            for pool in agent.pools:
                pools.setdefault(pool.ch, []).append(pool)
                group = lines.setdefault(pool.ch, [])
                group.extend((b.line, b.queue.config.aging_per_s) for b in pool.buckets)
            agent.plan = list(lines.items())
            agent.pools_by_ch = list(pools.items())
            agent.plan_version = self._topology
        return agent.plan

    def _best_waiting(self, agent: AgentRt, now: float) -> Ix | None:
        """The waiting interaction this agent should take next: looks at line heads only.

        Order: highest effective priority now (rank - aging x now), then queued_at, then seq.
        The common case (no personal line, best head not declined by this agent) compares
        keys only and looks up one interaction; anything else takes `_best_waiting_in_full`.
        """
        if agent.personal_line.head is None:
            key = self._best_head(agent, now)
            if key is None:
                return None
            ix = self._open[key[3]]
            # Every other line's candidates come after this head, so if the agent may take
            # it, it is the answer.
            if not ix.declined or not _declined(ix, agent, now):
                return ix
        return self._best_waiting_in_full(agent, now)

    def _best_head(self, agent: AgentRt, now: float) -> LineKey | None:
        """The first of the heads of the lines `agent` has room for, by key alone."""
        best: LineKey | None = None
        b0 = 0.0
        for ch, lines in self._plan(agent):
            if not agent.has_room(ch):
                continue
            for line, aging in lines:
                key = line.head
                if key is None:
                    continue
                k0 = key[0] - aging * now
                # `_before`, inlined: this runs for every line scanned.
                if best is None or (
                    k0 < b0
                    or (k0 == b0 and (key[1] < best[1] or (key[1] == best[1] and key[2] < best[2])))
                ):
                    best, b0 = key, k0
        return best

    def _best_waiting_in_full(self, agent: AgentRt, now: float) -> Ix | None:
        """`_best_waiting` with the personal line and skipping what the agent declined."""
        open_ = self._open
        best: Ix | None = None
        b0 = b1 = 0.0
        b2 = 0
        key = agent.personal_line.head
        if key is not None:
            ix = open_[key[3]]
            if agent.has_room(ix.ch):
                best, b0, b1, b2 = ix, key[0] - ix.queue.config.aging_per_s * now, key[1], key[2]
        for ch, lines in self._plan(agent):
            if not agent.has_room(ch):
                continue
            for line, aging in lines:
                key = line.head
                if key is None:
                    continue
                k0 = key[0] - aging * now
                # A line is sorted in this order, so if its head is not before the best so far,
                # nothing in it is.
                if best is not None and not _before(k0, key, b0, b1, b2):
                    continue
                ix = open_[key[3]]
                if ix.declined and _declined(ix, agent, now):
                    found = self._first_not_declined(line, agent, now)
                    if found is None:
                        continue
                    key, ix = found
                    k0 = key[0] - aging * now
                    if best is not None and not _before(k0, key, b0, b1, b2):
                        continue
                best, b0, b1, b2 = ix, k0, key[1], key[2]
        return best

    def _first_not_declined(
        self, line: Line, agent: AgentRt, now: float
    ) -> tuple[LineKey, Ix] | None:
        """The first key (and interaction) in `line` this agent has not recently declined."""
        for key in line:
            ix = self._open[key[3]]
            if not _declined(ix, agent, now):
                return key, ix
        return None

    def _index_free(self, agent: AgentRt) -> None:
        agent.version += 1
        if agent.state is not AVAILABLE or agent.exclusive_held:
            return
        self._plan(agent)
        for ch, pools in agent.pools_by_ch:
            if agent.has_room(ch):
                for pool in pools:
                    pool.push_free(agent)

    # ---- offers --------------------------------------------------------------------------

    def _offer(self, ix: Ix, agent: AgentRt, now: float, out: list[e.Event]) -> None:
        self._clock(agent, now)
        if ix.line is not None:
            unline(ix)
        queue = ix.queue
        ix.state = OFFERED
        ix.agent = agent
        queue.offered += 1
        timeout_s = queue.config.offer_timeout_s
        expires_at = now + timeout_s if timeout_s > 0 else math.inf
        ix.offer_expires_at = expires_at
        agent.take(ix)
        self._offer_seq += 1
        agent.last_offer_seq = self._offer_seq
        agent.idle_since = now
        if timeout_s > 0:
            self._add_timer(expires_at, OFFER_TIMER, ix, ix.ticket)
        out.append(e.InteractionOffered(now, ix.id, queue.config.id, agent.config.id, expires_at))

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
            self._add_timer(retry_at, RETRY_TIMER, ix, 0)
        out.append(kind(now, ix.id, ix.queue.id, agent.id))
        self._escalate_due(ix, now, out)
        self._enqueue(ix, now, out)
        return agent

    def _time_out_offer(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        agent = ix.agent
        assert agent is not None
        if ix.queue.config.missed_policy:
            self._change_state(agent, AgentState.BUSY, MISSED_REASON, now, out)
        self._return_offer(ix, now, out, e.OfferTimedOut)
        if agent.state is not AgentState.AVAILABLE:
            self._release_held_for(agent, now, out)
        self._settle(agent, now, out)

    def _finish(self, ix: Ix, now: float, out: list[e.Event]) -> None:
        """End wrap-up: the interaction completes and its agent takes what waits next."""
        agent = ix.agent
        assert agent is not None and ix.answered_at is not None
        self._clock(agent, now)
        agent.release(ix)
        agent.idle_since = now
        handle_s = now - ix.answered_at
        ix.state = InteractionState.COMPLETED
        del self._open[ix.id]
        queue_id = ix.queue.config.id
        agent_id = agent.config.id
        self.collector.completed(queue_id, agent_id, now, handle_s)
        out.append(e.InteractionCompleted(now, ix.id, queue_id, agent_id, handle_s))
        self._settle(agent, now, out)


def _declined(ix: Ix, agent: AgentRt, now: float) -> bool:
    """True while `agent` is skipped for `ix` after rejecting or missing it."""
    return ix.declined is not None and ix.declined.get(agent.id, -math.inf) > now


def _before(k0: float, key: LineKey, b0: float, b1: float, b2: int) -> bool:
    """True when (k0, queued_at, seq) of `key` comes before the best so far (b0, b1, b2)."""
    return k0 < b0 or (k0 == b0 and (key[1] < b1 or (key[1] == b1 and key[2] < b2)))
