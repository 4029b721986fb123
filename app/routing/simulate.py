"""A discrete-event simulator that drives the real engine at virtual time (seeded, pure)."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.routing import commands as c
from app.routing import events as ev
from app.routing.engine import Engine, implicit_queue_id
from app.routing.model import (
    INTERVAL_S,
    AgentConfig,
    AgentState,
    Channel,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    Requirement,
)
from app.routing.stats import QueueKpis


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration distribution: exponential, lognormal, uniform, constant or none (= never)."""

    kind: str = "exponential"
    mean_s: float = 0.0
    sd_s: float = 0.0
    min_s: float = 0.0
    max_s: float = 0.0

    def sample(self, rng: random.Random) -> float | None:
        """One draw in seconds; None for `none` (e.g. a customer who never gives up)."""
        if self.kind == "none":
            return None
        if self.kind == "constant":
            return self.mean_s
        if self.kind == "uniform":
            return rng.uniform(self.min_s, self.max_s)
        if self.kind == "lognormal":
            sigma2 = math.log(1 + (self.sd_s / self.mean_s) ** 2)
            return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))
        return rng.expovariate(1 / self.mean_s) if self.mean_s > 0 else 0.0


DISTRIBUTIONS = frozenset({"exponential", "lognormal", "uniform", "constant", "none"})


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """Poisson arrivals to one queue: a rate per hour for each 15-minute interval (or one)."""

    queue_id: QueueId
    channel: Channel
    arrivals_per_hour: tuple[float, ...]
    handle: Distribution
    patience: Distribution = Distribution("none")

    def rate_per_s(self, t: float) -> float:
        """Arrival rate at `t` seconds into the run; one value means constant."""
        rates = self.arrivals_per_hour
        if len(rates) == 1:
            return rates[0] / 3600.0
        index = int(t // INTERVAL_S)
        return rates[index] / 3600.0 if index < len(rates) else 0.0


@dataclass(frozen=True, slots=True)
class RosterAgent:
    """An agent and the shifts (seconds into the run) they are available; none = always."""

    config: AgentConfig
    shifts: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class TraceArrival:
    """One recorded arrival: when, where, what it needs, how long it holds its agent."""

    id: InteractionId
    arrival_s: float
    queue_id: QueueId | None
    channel: Channel
    skills: Requirement | None
    handle_s: float
    patience_s: float | None


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a run needs; times are seconds after `start_at` (epoch seconds)."""

    queues: tuple[QueueConfig, ...] = ()
    loads: tuple[QueueLoad, ...] = ()
    agents: tuple[RosterAgent, ...] = ()
    start_at: float = 0.0
    duration_s: float = 8 * 3600.0
    seed: int = 1
    accept_delay: Distribution = Distribution("constant", 0.0)


@dataclass(slots=True)
class Outcome:
    """What happened to one interaction (seconds into the run; None = did not happen)."""

    id: InteractionId
    queue: QueueId
    agent: str | None = None
    arrival_s: float = 0.0
    answered_s: float | None = None
    abandoned_s: float | None = None
    ended_s: float | None = None


@dataclass(slots=True)
class SimResult:
    """Per-interaction outcomes and per-queue KPIs from the engine's statistics."""

    outcomes: dict[InteractionId, Outcome] = field(default_factory=dict)
    kpis: dict[QueueId, QueueKpis] = field(default_factory=dict)
    occupancy: float | None = None
    commands: int = 0


_ARRIVE, _GENERATE, _ACCEPT, _COMPLETE, _ABANDON, _ON, _OFF = range(7)


class Simulator:
    """Runs a scenario (Poisson loads) and/or a trace against a fresh engine."""

    def __init__(self, scenario: Scenario, trace: Iterable[TraceArrival] = ()) -> None:
        self.scenario = scenario
        self.rng = random.Random(scenario.seed)
        self.engine = Engine()
        self.result = SimResult()
        self.t = 0.0
        self._heap: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self._handle_s: dict[InteractionId, float] = {}
        self._generated = 0
        self._known_queues = {queue.id for queue in scenario.queues}
        self._setup(trace)

    def _push(self, t: float, kind: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, payload))

    def _setup(self, trace: Iterable[TraceArrival]) -> None:
        for queue in self.scenario.queues:
            self._apply(c.UpsertQueue(queue))
        for agent in self.scenario.agents:
            self._apply(c.UpsertAgent(agent.config))
            shifts = agent.shifts or ((0.0, math.inf),)
            for start_s, end_s in shifts:
                if end_s <= start_s:
                    continue
                self._push(start_s, _ON, agent.config.id)
                if end_s != math.inf:
                    self._push(end_s, _OFF, agent.config.id)
        for load in self.scenario.loads:
            self._schedule_next(load, 0.0)
        for arrival in trace:
            self._push(arrival.arrival_s, _ARRIVE, arrival)

    def _schedule_next(self, load: QueueLoad, t: float) -> None:
        """Next Poisson arrival with a piecewise-constant rate (memoryless at boundaries)."""
        end = self.scenario.duration_s
        while t < end:
            boundary = min(end, (t // INTERVAL_S + 1) * INTERVAL_S)
            rate = load.rate_per_s(t)
            if rate > 0:
                candidate = t + self.rng.expovariate(rate)
                if candidate < boundary:
                    self._push(candidate, _GENERATE, load)
                    return
            t = boundary

    def run(self) -> SimResult:
        """Run until nothing is left to happen; return the outcomes and KPIs."""
        engine = self.engine
        while self._heap:
            deadline = engine.next_deadline()
            t_next = self._heap[0][0]
            if deadline is not None and deadline - self.scenario.start_at < t_next:
                self.t = deadline - self.scenario.start_at
                self._apply(c.Tick())
                continue
            t, _, kind, payload = heapq.heappop(self._heap)
            self.t = t
            self._dispatch(kind, payload)
        end_at = self.scenario.start_at + self.t
        stats = engine.stats(end_at)
        self.result.kpis = {queue_id: now.totals for queue_id, now in stats.queues.items()}
        self.result.occupancy = stats.occupancy
        return self.result

    def _dispatch(self, kind: int, payload: object) -> None:
        if kind == _GENERATE:
            assert isinstance(payload, QueueLoad)
            self._generate(payload)
        elif kind == _ARRIVE:
            assert isinstance(payload, TraceArrival)
            self._arrive(payload)
        elif kind in (_ON, _OFF):
            state = AgentState.AVAILABLE if kind == _ON else AgentState.OFFLINE
            self._apply(c.SetAgentState(payload, state))  # type: ignore[arg-type]
        else:
            assert isinstance(payload, tuple)
            self._interaction_timer(kind, payload)

    def _interaction_timer(self, kind: int, payload: tuple[InteractionId, str]) -> None:
        interaction_id, agent_id = payload
        view = self.engine.interaction(interaction_id)
        if view is None:
            return
        if kind == _ACCEPT:
            if view.state is InteractionState.OFFERED and view.agent_id == agent_id:
                self._apply(c.Accept(interaction_id, view.agent_id))
        elif kind == _COMPLETE:
            if view.state is InteractionState.ACTIVE:
                self._apply(c.Complete(interaction_id))
        elif view.state in (InteractionState.QUEUED, InteractionState.OFFERED):
            self._apply(c.Abandon(interaction_id))

    def _generate(self, load: QueueLoad) -> None:
        self._generated += 1
        handle_s = load.handle.sample(self.rng) or 0.0
        patience_s = load.patience.sample(self.rng)
        arrival = TraceArrival(
            InteractionId(f"sim-{self._generated}"),
            self.t,
            load.queue_id,
            load.channel,
            None,
            handle_s,
            patience_s,
        )
        self._arrive(arrival)
        self._schedule_next(load, self.t)

    def _arrive(self, arrival: TraceArrival) -> None:
        queue_id = arrival.queue_id or implicit_queue_id(arrival.skills or frozenset())
        self.result.outcomes[arrival.id] = Outcome(arrival.id, queue_id, arrival_s=self.t)
        self._handle_s[arrival.id] = arrival.handle_s
        if arrival.patience_s is not None:
            self._push(self.t + arrival.patience_s, _ABANDON, (arrival.id, ""))
        if arrival.queue_id is not None and arrival.queue_id not in self._known_queues:
            # Queues a trace names and no scenario defines get the defaults.
            self._apply(c.UpsertQueue(QueueConfig(arrival.queue_id)))
            self._known_queues.add(arrival.queue_id)
        skills = None if arrival.queue_id is not None else (arrival.skills or frozenset())
        command = c.Arrive(arrival.id, arrival.channel, queue_id=arrival.queue_id, skills=skills)
        self._apply(command)

    def _apply(self, command: c.Command) -> None:
        pending = [command]
        while pending:
            events = self.engine.apply(pending.pop(), self.scenario.start_at + self.t)
            self.result.commands += 1
            for event in events:
                follow_up = self._observe(event)
                if follow_up is not None:
                    pending.append(follow_up)

    def _observe(self, event: ev.Event) -> c.Command | None:
        """Record outcomes; answer offers and schedule completions."""
        outcomes = self.result.outcomes
        if isinstance(event, ev.InteractionOffered):
            return self._on_offer(event)
        if isinstance(event, ev.OfferAccepted):
            outcome = outcomes[event.interaction_id]
            outcome.answered_s, outcome.agent = self.t, event.agent_id
            handle_s = self._handle_s.get(event.interaction_id, 0.0)
            self._push(self.t + handle_s, _COMPLETE, (event.interaction_id, event.agent_id))
        elif isinstance(event, ev.InteractionCompleted):
            outcomes[event.interaction_id].ended_s = self.t
            self._handle_s.pop(event.interaction_id, None)
        elif isinstance(event, ev.InteractionAbandoned):
            outcome = outcomes[event.interaction_id]
            outcome.abandoned_s = outcome.ended_s = self.t
            self._handle_s.pop(event.interaction_id, None)
        elif isinstance(event, ev.InteractionRefused):
            outcomes[event.interaction_id].ended_s = self.t
        elif isinstance(event, ev.InteractionEscalated | ev.InteractionQueued):
            queue_id = event.to_queue_id if isinstance(event, ev.InteractionEscalated) else None
            if queue_id is None and isinstance(event, ev.InteractionQueued):
                queue_id = event.queue_id
            if event.interaction_id in outcomes and queue_id is not None:
                outcomes[event.interaction_id].queue = queue_id
        return None

    def _on_offer(self, event: ev.InteractionOffered) -> c.Command | None:
        delay_s = self.scenario.accept_delay.sample(self.rng)
        if delay_s is None:
            return None
        if delay_s <= 0:
            return c.Accept(event.interaction_id, event.agent_id)
        self._push(self.t + delay_s, _ACCEPT, (event.interaction_id, event.agent_id))
        return None


def simulate(scenario: Scenario, trace: Iterable[TraceArrival] = ()) -> SimResult:
    """Run `scenario` (and `trace`, if any) to completion."""
    return Simulator(scenario, trace).run()
