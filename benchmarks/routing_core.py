"""Benchmark of the pure routing core in steady state; prints a table (or --json).

An operation is one arrival, or one completion with the routing it triggers (the freed agent
is offered the next interaction and accepts it). The waiting count stays near its size.

Times are CPU time of this thread (`time.thread_time_ns`), on one core, not wall time: other
processes sharing the machine then barely move the numbers. Reading that clock costs a
system call (about a microsecond); its measured cost is subtracted from every sample.

The engine runs inside the service, whose garbage collector is tuned when it starts
(`app.runtime.collector.tune_for_service`: what exists is frozen, young collections are
rarer). By default each size is measured the same way: tuned before the engine is built,
so the engine's own objects stay in the collector's sight as in the service. `--gc default`
measures with Python's default collector settings instead.

`pos_us` is the mean CPU time of one `Engine.position()` call on a random waiting
interaction, and `pos_tail_us` the same for the last interaction of the longest line; both
should stay flat as the line grows.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass

from app.routing import commands as c
from app.routing import events as ev
from app.routing.engine import Engine
from app.routing.model import (
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    InteractionState,
    QueueConfig,
    QueueId,
    agent_config,
    requirement,
)
from app.runtime.collector import tune_for_service

SIZES = [(100, 10, 1_000), (1_000, 50, 10_000), (5_000, 200, 100_000)]
SKILLS_PER_AGENT = 4
POSITION_SAMPLES = 2_000
CLOCK = time.thread_time_ns


@dataclass
class Result:
    """One row of the table."""

    agents: int
    queues: int
    waiting: int
    ops_per_s: float
    p50_us: float
    p99_us: float
    pos_us: float
    pos_tail_us: float


def clock_overhead_ns() -> int:
    """The median cost of one back-to-back pair of clock reads (subtracted from samples)."""
    pairs = []
    for _ in range(20_000):
        start = CLOCK()
        pairs.append(CLOCK() - start)
    return int(statistics.median(pairs))


class Workload:
    """An engine filled to steady state, and the operations that keep it there."""

    def __init__(self, agents: int, queues: int, waiting: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.engine = Engine()
        self.now = 1_700_000_000.0
        self.queue_ids = [QueueId(f"q{k}") for k in range(queues)]
        self.active: list[InteractionId] = []
        self.next_id = 0
        for k, queue_id in enumerate(self.queue_ids):
            config = QueueConfig(queue_id, required=requirement(f"s{k}", "english"))
            self.engine.apply(c.UpsertQueue(config), self.now)
        for i in range(agents):
            picks = {i % queues, *self.rng.sample(range(queues), min(queues, SKILLS_PER_AGENT))}
            skills = {f"s{k}": self.rng.randint(1, 10) for k in picks}
            skills["english"] = 10
            agent_id = AgentId(f"a{i}")
            self.engine.apply(c.UpsertAgent(agent_config(agent_id, skills)), self.now)
            self.engine.apply(c.SetAgentState(agent_id, AgentState.AVAILABLE), self.now)
        self.offered = 0
        while self.next_id - self.offered < waiting:
            self.arrive()

    def _accept_offers(self, events: list[ev.Event]) -> None:
        for event in events:
            if isinstance(event, ev.InteractionOffered):
                accept = c.Accept(event.interaction_id, event.agent_id)
                self.engine.apply(accept, self.now)
                self.offered += 1
                self.active.append(event.interaction_id)

    def arrive(self) -> None:
        """One arrival to a random queue."""
        self.next_id += 1
        queue_id = self.queue_ids[self.rng.randrange(len(self.queue_ids))]
        command = c.Arrive(InteractionId(f"i{self.next_id}"), Channel.CHAT, queue_id=queue_id)
        self._accept_offers(self.engine.apply(command, self.now))

    def complete(self) -> None:
        """One completion of a random active interaction; the agent takes the next one."""
        index = self.rng.randrange(len(self.active))
        self.active[index], self.active[-1] = self.active[-1], self.active[index]
        interaction_id = self.active.pop()
        self._accept_offers(self.engine.apply(c.Complete(interaction_id), self.now))

    def run(self, operations: int, overhead_ns: int = 0) -> list[int]:
        """Alternate arrivals and completions; return each operation's CPU time in ns."""
        durations = []
        clock = CLOCK
        for n in range(operations):
            self.now += 0.01
            op = self.arrive if n % 2 == 0 else self.complete
            start = clock()
            op()
            durations.append(max(0, clock() - start - overhead_ns))
            if n % 5_000 == 0:
                self.engine.apply(c.Tick(), self.now)
        return durations

    def position_cost_us(self, overhead_ns: int) -> tuple[float, float]:
        """Mean CPU time of `position()` on random waiting interactions, and on the last one
        of the longest line."""
        engine = self.engine
        lines: dict[QueueId, list[tuple[int, InteractionId]]] = {}
        for interaction_id in engine.interaction_ids():
            view = engine.interaction(interaction_id)
            if view is not None and view.state is InteractionState.QUEUED:
                lines.setdefault(view.queue_id, []).append((view.seq, interaction_id))
        waiting = [i for line in lines.values() for _, i in line]
        sample = [self.rng.choice(waiting) for _ in range(POSITION_SAMPLES)]
        # Every interaction here has the same priority, so the last of a line has the top seq.
        longest = max(lines.values(), key=len)
        _, tail = max(longest)
        return (
            self._time_calls(sample, overhead_ns),
            self._time_calls([tail] * POSITION_SAMPLES, overhead_ns),
        )

    def _time_calls(self, ids: list[InteractionId], overhead_ns: int) -> float:
        position, now, clock = self.engine.position, self.now, CLOCK
        total = 0
        for interaction_id in ids:
            start = clock()
            position(interaction_id, now)
            total += max(0, clock() - start - overhead_ns)
        return total / len(ids) / 1e3


def measure(
    agents: int, queues: int, waiting: int, operations: int, overhead_ns: int, gc_mode: str
) -> Result:
    """Build the workload, warm up, then time `operations` operations and position()."""
    defaults = gc.get_threshold()
    if gc_mode == "service":
        tune_for_service()
    try:
        workload = Workload(agents, queues, waiting)
        workload.run(min(operations, 5_000))
        durations = workload.run(operations, overhead_ns)
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
    total_s = sum(durations) / 1e9
    cuts = statistics.quantiles(durations, n=100)
    pos_us, pos_tail_us = workload.position_cost_us(overhead_ns)
    return Result(
        agents,
        queues,
        waiting,
        operations / total_s,
        cuts[49] / 1e3,
        cuts[98] / 1e3,
        pos_us,
        pos_tail_us,
    )


def median_result(runs: list[Result]) -> Result:
    """Each column's median over repeated runs of one size (noisy shared machines)."""
    first = runs[0]
    return Result(
        first.agents,
        first.queues,
        first.waiting,
        statistics.median(r.ops_per_s for r in runs),
        statistics.median(r.p50_us for r in runs),
        statistics.median(r.p99_us for r in runs),
        statistics.median(r.pos_us for r in runs),
        statistics.median(r.pos_tail_us for r in runs),
    )


def main(argv: list[str] | None = None) -> int:
    """Run every size and print the table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each size N times, print the medians"
    )
    parser.add_argument(
        "--gc",
        choices=("service", "default"),
        default="service",
        help="the collector tuned as the service runs it (default), or Python's defaults",
    )
    args = parser.parse_args(argv)
    operations = 5_000 if args.quick else 100_000
    overhead_ns = clock_overhead_ns()
    results = [
        median_result(
            [measure(a, q, w, operations, overhead_ns, args.gc) for _ in range(args.repeat)]
        )
        for a, q, w in SIZES
    ]
    if args.json:
        print(json.dumps([vars(r) for r in results], indent=2))
        return 0
    runs = f"median of {args.repeat} runs; " if args.repeat > 1 else ""
    print(
        f"CPU time, one core ({runs}thread_time_ns; {overhead_ns} ns clock cost subtracted; "
        f"collector: {args.gc})"
    )
    print(
        f"{'agents':>7} {'queues':>7} {'waiting':>8} {'ops/s':>10} {'p50 us':>8} {'p99 us':>8}"
        f" {'pos us':>8} {'tail us':>8}"
    )
    for r in results:
        print(
            f"{r.agents:>7} {r.queues:>7} {r.waiting:>8} {r.ops_per_s:>10,.0f} "
            f"{r.p50_us:>8.1f} {r.p99_us:>8.1f} {r.pos_us:>8.2f} {r.pos_tail_us:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
