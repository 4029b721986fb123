"""Position in line: the order-statistics lines agree with a brute-force count of the waiting."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.routing import commands as c
from app.routing.engine import Engine
from app.routing.errors import RoutingError
from app.routing.lines import Line
from app.routing.model import (
    AgentId,
    AgentState,
    BusinessHours,
    Channel,
    ClosedPolicy,
    CustomerId,
    EscalationStep,
    InteractionId,
    InteractionState,
    OpenInterval,
    QueueConfig,
    QueueId,
    agent_config,
    requirement,
)
from app.routing.state import Ix

T0 = 1_741_000_000.0  # a Monday, 11:06 UTC
GENERAL, OVERFLOW, OFFICE = QueueId("general"), QueueId("overflow"), QueueId("office")
QUEUES = [
    QueueConfig(
        GENERAL,
        required=requirement("a"),
        offer_timeout_s=20,
        aging_per_s=0.05,
        sticky_s=30,
        escalation=(
            EscalationStep(25, also=requirement("b")),
            EscalationStep(50, priority_delta=2),
            EscalationStep(90, overflow_to=OVERFLOW),
        ),
    ),
    QueueConfig(
        OVERFLOW,
        required=requirement("b"),
        offer_timeout_s=15,
        wrap_up_s=10,
        priority=1,
        missed_policy=True,
        escalation=(EscalationStep(40, required=requirement("a")),),
    ),
    QueueConfig(
        OFFICE,
        required=requirement("a"),
        closed_policy=ClosedPolicy.CALLBACK,
        hours=BusinessHours(weekly=tuple(OpenInterval(day, 9 * 60, 12 * 60) for day in range(5))),
    ),
]
AGENTS = [
    agent_config("ana", {"a": 5}, capacity={Channel.CHAT: 2}),
    agent_config("bob", {"b": 3}, capacity={Channel.CHAT: 1}),
    agent_config("cruz", {"a": 7, "b": 4}, capacity={Channel.CHAT: 1, Channel.EMAIL: 2}),
]
AGENT_IDS = [agent.id for agent in AGENTS]
OPEN = [
    InteractionState.QUEUED,
    InteractionState.OFFERED,
    InteractionState.ACTIVE,
    InteractionState.WRAP_UP,
]


def brute_ahead(engine: Engine, ix: Ix) -> int:
    """Count every waiting interaction ahead of `ix` in its line, by walking them all (the
    O(n) definition): same held line, same target agent, or same queue, tier and channel."""
    others = [o for o in engine._open.values() if o.state is InteractionState.QUEUED]
    if ix.held_until is not None:
        return sum(
            1 for o in others if o.held_until is not None and o.queue is ix.queue and o.seq < ix.seq
        )
    mine = (ix.rank, ix.queued_at, ix.seq)
    if ix.target_agent is not None:
        same = [o for o in others if o.held_until is None and o.target_agent is ix.target_agent]
    else:
        same = [
            o
            for o in others
            if o.held_until is None
            and o.target_agent is None
            and (o.queue, o.tier, o.ch) == (ix.queue, ix.tier, ix.ch)
        ]
    return sum(1 for o in same if (o.rank, o.queued_at, o.seq) < mine)


def brute_servers(engine: Engine, ix: Ix) -> int:
    """Slots of the online agents able to take `ix`, counted agent by agent."""
    if ix.target_agent is not None:
        agents = {ix.target_agent}
    else:
        agents = set()
        for bucket in ix.queue.buckets.get((ix.tier, ix.ch), ()):
            agents |= bucket.pool.members
    return sum(a.slots(ix.ch) for a in agents if a.state is not AgentState.OFFLINE)


class PositionMachine(RuleBasedStateMachine):
    """Random commands over priorities, aging, escalation tiers, overflow, sticky agents,
    callbacks, rejects, time-outs and transfers; position always matches the brute force."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.now = T0
        self.next_id = 0
        for config in QUEUES:
            self.engine.apply(c.UpsertQueue(config), self.now)
        for agent in AGENTS:
            self.engine.apply(c.UpsertAgent(agent), self.now)

    def _apply(self, command: c.Command) -> None:
        with contextlib.suppress(RoutingError):
            self.engine.apply(command, self.now)

    def _pick(self, data: st.DataObject, wanted: set[InteractionState]) -> InteractionId | None:
        ids = [
            i
            for i in sorted(self.engine.interaction_ids())
            if (view := self.engine.interaction(i)) and view.state in wanted
        ]
        return data.draw(st.sampled_from(ids)) if ids else None

    @rule(
        queue=st.sampled_from([GENERAL, GENERAL, OVERFLOW, OFFICE]),
        channel=st.sampled_from([Channel.CHAT, Channel.EMAIL]),
        priority=st.integers(0, 3),
        customer=st.sampled_from([None, "c1", "c2"]),
    )
    def arrive(self, queue: QueueId, channel: Channel, priority: int, customer: str | None) -> None:
        self.next_id += 1
        customer_id = CustomerId(customer) if customer else None
        self._apply(
            c.Arrive(
                InteractionId(f"i{self.next_id}"),
                channel,
                queue,
                priority=priority,
                customer_id=customer_id,
            )
        )

    @rule(agent=st.sampled_from(AGENT_IDS), state=st.sampled_from(list(AgentState)))
    def set_state(self, agent: AgentId, state: AgentState) -> None:
        self._apply(c.SetAgentState(agent, state, "break" if state is AgentState.BUSY else None))

    @rule(data=st.data(), accept=st.booleans())
    def answer_offer(self, data: st.DataObject, accept: bool) -> None:
        interaction_id = self._pick(data, {InteractionState.OFFERED})
        view = self.engine.interaction(interaction_id) if interaction_id else None
        if view is not None and view.agent_id is not None:
            command = c.Accept if accept else c.Reject
            self._apply(command(view.id, view.agent_id))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        interaction_id = self._pick(data, {InteractionState.ACTIVE})
        if interaction_id:
            self._apply(c.Complete(interaction_id))

    @rule(data=st.data(), cancel=st.booleans())
    def leave(self, data: st.DataObject, cancel: bool) -> None:
        interaction_id = self._pick(data, {InteractionState.QUEUED, InteractionState.OFFERED})
        if interaction_id:
            self._apply(c.Cancel(interaction_id) if cancel else c.Abandon(interaction_id))

    @rule(
        data=st.data(),
        queue=st.sampled_from([None, GENERAL, OVERFLOW]),
        agent=st.sampled_from(AGENT_IDS),
    )
    def transfer(self, data: st.DataObject, queue: QueueId | None, agent: AgentId) -> None:
        interaction_id = self._pick(data, set(OPEN[:3]))
        if interaction_id:
            to_agent = agent if queue is None else None
            self._apply(c.Transfer(interaction_id, to_queue=queue, to_agent=to_agent))

    @rule(index=st.integers(0, len(QUEUES) - 1))
    def reconfigure_queue(self, index: int) -> None:
        self._apply(c.UpsertQueue(QUEUES[index]))

    @rule(dt=st.sampled_from([1.0, 5.0, 16.0, 30.0, 45.0, 4 * 3600.0]))
    def tick(self, dt: float) -> None:
        self.now += dt
        self._apply(c.Tick())

    @invariant()
    def position_matches_the_brute_force_count(self) -> None:
        engine = self.engine
        for interaction_id in engine.interaction_ids():
            ix = engine._open[interaction_id]
            got = engine.position(interaction_id, self.now)
            if ix.state is InteractionState.OFFERED:
                assert got == (0, 0.0)
            elif ix.state is not InteractionState.QUEUED:
                assert got is None
            else:
                assert got is not None
                assert got[0] == brute_ahead(engine, ix) + 1, interaction_id
                assert (got[1] is None) == (brute_servers(engine, ix) == 0)

    @invariant()
    def lines_hold_exactly_the_waiting_interactions(self) -> None:
        """Every waiting interaction is in the line of each bucket of its tier and channel (or
        its target's personal line, or its queue's held line), and no line holds anything else."""
        engine = self.engine
        expected: dict[int, tuple[Line, set[str]]] = {}

        def expect(line: Line, interaction_id: str) -> None:
            expected.setdefault(id(line), (line, set()))[1].add(interaction_id)

        for ix in engine._open.values():
            if ix.state is not InteractionState.QUEUED:
                assert ix.line is None and not ix.extra_lines
            elif ix.held_until is not None:
                expect(ix.queue.held, ix.id)
            elif ix.target_agent is not None:
                expect(ix.target_agent.personal_line, ix.id)
            else:
                for bucket in ix.queue.buckets[(ix.tier, ix.ch)]:
                    expect(bucket.line, ix.id)
        lines = [queue.held for queue in engine._queues.values()]
        lines += [agent.personal_line for agent in engine._agents.values()]
        lines += [b.line for q in engine._queues.values() for bs in q.buckets.values() for b in bs]
        for line in lines:
            keys = list(line)
            assert keys == sorted(keys) and line.head == (keys[0] if keys else None)
            assert {key[3] for key in keys} == expected.get(id(line), (line, set()))[1]


TestPositionMachine = PositionMachine.TestCase
TestPositionMachine.settings = settings(max_examples=80, stateful_step_count=50, deadline=None)


def test_line_counts_keys_ahead_across_sublist_splits() -> None:
    """Enough keys to split the sorted sublists; every rank equals a plain count."""
    line = Line()
    keys = [(float(k % 7), float(k % 13), k, InteractionId(f"i{k}")) for k in range(5_000)]
    for key in keys[::2] + keys[1::2]:
        line.add(key)
    for key in keys[::3]:
        line.remove(key)
    kept = sorted(set(keys) - set(keys[::3]))
    assert len(line) == len(kept)
    for probe in [
        *kept[::97],
        (-1.0, 0.0, 0, InteractionId("")),
        (99.0, 0.0, 0, InteractionId("")),
    ]:
        assert line.rank(probe) == sum(1 for key in kept if key < probe)


def test_position_in_a_long_line_is_counted_without_scanning_it() -> None:
    """Priorities interleave; position is 1 + the number ranked ahead, at any length."""
    engine = Engine()
    engine.apply(c.UpsertQueue(QueueConfig(GENERAL, required=requirement("a"))), T0)
    for n in range(3_000):
        engine.apply(
            c.Arrive(InteractionId(f"i{n}"), Channel.CHAT, GENERAL, priority=n % 3), T0 + n
        )
    # Priority 2 goes first (by arrival), then 1, then 0: i2999 is the 1,000th of priority 2.
    assert engine.position(InteractionId("i2999")) == (1_000, None)
    assert engine.position(InteractionId("i2998")) == (2_000, None)
    assert engine.position(InteractionId("i0")) == (2_001, None)
    engine.apply(c.Abandon(InteractionId("i2")), T0 + 4_000)
    assert engine.position(InteractionId("i2999")) == (999, None)


def test_line_head_is_the_smallest_key_through_adds_and_removes() -> None:
    """The head follows inserts before it, removal of the head and emptying the line."""
    line = Line()
    assert line.head is None
    late, early = (0.0, 2.0, 2, InteractionId("late")), (0.0, 1.0, 1, InteractionId("early"))
    line.add(late)
    line.add(early)
    assert line.head == early
    line.remove(early)
    assert line.head == late
    line.remove(late)
    assert line.head is None and len(line) == 0 and list(line) == []


def test_line_refuses_to_remove_a_key_it_does_not_hold() -> None:
    """A missing key is a caller bug and raises, whether or not it sorts first."""
    line = Line()
    line.add((0.0, 2.0, 2, InteractionId("b")))
    for missing in [(0.0, 1.0, 1, InteractionId("a")), (0.0, 3.0, 3, InteractionId("c"))]:
        with pytest.raises(ValueError, match="not in the line"):
            line.remove(missing)
    assert len(line) == 1
