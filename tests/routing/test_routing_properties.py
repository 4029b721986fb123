"""Property tests: random command sequences never break the routing invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.routing import commands as c
from app.routing import events as ev
from app.routing.engine import Engine
from app.routing.errors import RoutingError
from app.routing.model import (
    DEFAULT_EXCLUSIVE,
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    agent_config,
    meets,
    requirement,
)

T0 = 1_741_000_000.0
QUEUES = {
    QueueId("general"): QueueConfig(
        QueueId("general"), required=requirement("a"), offer_timeout_s=20
    ),
    QueueId("spanish"): QueueConfig(
        QueueId("spanish"), required=requirement("a", "es:5"), offer_timeout_s=20, wrap_up_s=15
    ),
}
CHANNELS = [Channel.CHAT, Channel.VOICE, Channel.EMAIL]
AGENTS = [
    agent_config("ana", {"a": 5, "es": 9}, capacity={Channel.CHAT: 2}),
    agent_config("bob", {"a": 3}, capacity={Channel.CHAT: 3}),
    agent_config("cruz", {"a": 7, "es": 4}, capacity={Channel.CHAT: 1, Channel.EMAIL: 2}),
]
CONFIG = {agent.id: agent for agent in AGENTS}
OPEN_STATES = {
    InteractionState.QUEUED,
    InteractionState.OFFERED,
    InteractionState.ACTIVE,
    InteractionState.WRAP_UP,
}


def has_room(config: AgentConfig, load: dict[Channel, int], channel: Channel) -> bool:
    total = sum(load.values())
    if any(load.get(ch, 0) for ch in config.exclusive):
        return False
    if channel in config.exclusive:
        return total == 0
    return load.get(channel, 0) < config.capacity_for(channel)


class RoutingMachine(RuleBasedStateMachine):
    """Drives one engine with random commands and checks it after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.now = T0
        self.next_id = 0
        self.declined: dict[tuple[str, str], float] = {}
        for config in QUEUES.values():
            self.engine.apply(c.UpsertQueue(config), self.now)
        for agent in AGENTS:
            self.engine.apply(c.UpsertAgent(agent), self.now)

    def _apply(self, command: c.Command) -> None:
        try:
            events = self.engine.apply(command, self.now)
        except RoutingError:
            return
        for event in events:
            self._check_fifo(event)
            if isinstance(event, ev.OfferRejected | ev.OfferTimedOut):
                key = (event.interaction_id, event.agent_id)
                self.declined[key] = event.at + QUEUES[event.queue_id].reoffer_after_s
            if isinstance(event, ev.InteractionTransferred) and event.from_agent_id is not None:
                # Handed on to a queue: not offered straight back to the agent who handed it on.
                key = (event.interaction_id, event.from_agent_id)
                self.declined[key] = event.at + QUEUES[event.to_queue_id].reoffer_after_s

    def _check_fifo(self, event: ev.Event) -> None:
        """An offer never jumps an equal (same queue, channel, priority) earlier interaction."""
        if not isinstance(event, ev.InteractionOffered):
            return
        offered = self.engine.interaction(event.interaction_id)
        if offered is None or offered.agent_id != event.agent_id:
            return  # the offer was already taken back within the same command
        for other_id in self.engine.interaction_ids():
            other = self.engine.interaction(other_id)
            assert other is not None
            if (
                other.state is InteractionState.QUEUED
                and (other.queue_id, other.channel, other.priority)
                == (offered.queue_id, offered.channel, offered.priority)
                and self.declined.get((other.id, event.agent_id), 0) <= self.now
            ):
                assert other.seq > offered.seq, f"{other.id} was ahead of {offered.id}"

    def _pick(self, data: st.DataObject, wanted: set[InteractionState]) -> InteractionId | None:
        ids = [
            i
            for i in sorted(self.engine.interaction_ids())
            if (view := self.engine.interaction(i)) and view.state in wanted
        ]
        return data.draw(st.sampled_from(ids)) if ids else None

    @rule(
        queue=st.sampled_from(sorted(QUEUES)),
        channel=st.sampled_from(CHANNELS),
        priority=st.integers(0, 2),
    )
    def arrive(self, queue: QueueId, channel: Channel, priority: int) -> None:
        self.next_id += 1
        self._apply(c.Arrive(InteractionId(f"i{self.next_id}"), channel, queue, priority=priority))

    @rule(
        agent=st.sampled_from([a.id for a in AGENTS]),
        state=st.sampled_from(list(AgentState)),
        reason=st.sampled_from([None, "break"]),
    )
    def set_state(self, agent: AgentId, state: AgentState, reason: str | None) -> None:
        self._apply(c.SetAgentState(agent, state, reason))

    @rule(data=st.data(), accept=st.booleans())
    def answer_offer(self, data: st.DataObject, accept: bool) -> None:
        interaction_id = self._pick(data, {InteractionState.OFFERED})
        view = self.engine.interaction(interaction_id) if interaction_id else None
        if view is None or view.agent_id is None:
            return
        command = c.Accept if accept else c.Reject
        self._apply(command(view.id, view.agent_id))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        interaction_id = self._pick(data, {InteractionState.ACTIVE})
        if interaction_id:
            self._apply(c.Complete(interaction_id))

    @rule(data=st.data())
    def finish_wrap_up(self, data: st.DataObject) -> None:
        interaction_id = self._pick(data, {InteractionState.WRAP_UP})
        if interaction_id:
            self._apply(c.FinishWrapUp(interaction_id))

    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        interaction_id = self._pick(data, {InteractionState.QUEUED, InteractionState.OFFERED})
        if interaction_id:
            self._apply(c.Abandon(interaction_id))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        interaction_id = self._pick(data, OPEN_STATES)
        if interaction_id:
            self._apply(c.Cancel(interaction_id))

    @rule(data=st.data(), queue=st.sampled_from(sorted(QUEUES)))
    def transfer(self, data: st.DataObject, queue: QueueId) -> None:
        interaction_id = self._pick(data, {InteractionState.ACTIVE})
        if interaction_id:
            self._apply(c.Transfer(interaction_id, to_queue=queue))

    @rule(data=st.data(), priority=st.integers(0, 2))
    def set_priority(self, data: st.DataObject, priority: int) -> None:
        interaction_id = self._pick(data, {InteractionState.QUEUED})
        if interaction_id:
            self._apply(c.SetPriority(interaction_id, priority))

    @rule(dt=st.sampled_from([1.0, 5.0, 16.0, 40.0]))
    def tick(self, dt: float) -> None:
        self.now += dt
        self._apply(c.Tick())

    @invariant()
    def no_agent_over_capacity(self) -> None:
        for config in AGENTS:
            view = self.engine.agent(config.id)
            assert view is not None
            for channel, n in view.load.items():
                assert n <= config.capacity_for(channel)
            if any(view.load.get(ch, 0) for ch in DEFAULT_EXCLUSIVE):
                assert sum(view.load.values()) == 1

    @invariant()
    def one_state_and_at_most_one_offer_per_interaction(self) -> None:
        holders: dict[str, list[str]] = {}
        for config in AGENTS:
            agent = self.engine.agent(config.id)
            assert agent is not None
            for interaction_id in agent.interactions:
                holders.setdefault(interaction_id, []).append(config.id)
        for interaction_id in self.engine.interaction_ids():
            view = self.engine.interaction(interaction_id)
            assert view is not None and view.state in OPEN_STATES
            expected = [] if view.state is InteractionState.QUEUED else [view.agent_id]
            assert holders.get(interaction_id, []) == expected

    @invariant()
    def work_is_conserved(self) -> None:
        agents = {a: self.engine.agent(a) for a in CONFIG}
        for interaction_id in self.engine.interaction_ids():
            view = self.engine.interaction(interaction_id)
            assert view is not None
            if view.state is not InteractionState.QUEUED:
                continue
            required = QUEUES[view.queue_id].required
            for agent_id, agent in agents.items():
                assert agent is not None
                if agent.state is not AgentState.AVAILABLE:
                    continue
                if self.declined.get((view.id, agent_id), 0) > self.now:
                    continue
                config = CONFIG[agent_id]
                eligible = meets(config.skills, required)
                room = has_room(config, dict(agent.load), view.channel)
                assert not (eligible and room), f"{view.id} waits while {agent_id} is free"


TestRoutingMachine = RoutingMachine.TestCase
TestRoutingMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=150, max_size=250))
def test_aging_bounds_every_wait_so_nothing_starves(priorities: list[int]) -> None:
    """One agent serves one per second, one arrival per second: with aging 0.1/s, priorities
    0..10 and a backlog of 5, no wait can exceed 10 / 0.1 s plus the backlog."""
    engine = Engine()
    queue = QueueConfig(QueueId("q"), aging_per_s=0.1, offer_timeout_s=0)
    engine.apply(c.UpsertQueue(queue), T0)
    engine.apply(c.UpsertAgent(agent_config("solo", {}, capacity={Channel.CHAT: 1})), T0)
    waits: list[float] = []
    active: InteractionId | None = None
    for step, priority in enumerate(priorities):
        now = T0 + step
        events = engine.apply(
            c.Arrive(InteractionId(f"i{step}"), Channel.CHAT, queue.id, priority=priority), now
        )
        if step == 5:
            events += engine.apply(c.SetAgentState(AgentId("solo"), AgentState.AVAILABLE), now)
        elif active is not None:
            events += engine.apply(c.Complete(active), now)
        for event in events:
            if isinstance(event, ev.InteractionOffered):
                accepted = engine.apply(c.Accept(event.interaction_id, event.agent_id), now)
                assert isinstance(accepted[0], ev.OfferAccepted)
                waits.append(accepted[0].wait_s)
                active = event.interaction_id
    assert max(waits) <= 10 / 0.1 + 6
