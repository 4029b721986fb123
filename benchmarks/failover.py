"""Fail-over of the routing writer under load: kill -9 the writer, measure, check nothing broke.

Two (or more) `switchboard serve` processes share a throwaway PostgreSQL database and a Redis
prefix (benchmarks/cluster.py). Agents, signed in on either process, go available, accept
their offers and complete them; integrators create chats at a steady rate, each with its own
Idempotency-Key, spread over the live processes (a failed create is retried with the same
key, as a client should). Alongside, claimants of a few web chats (started before the first
kill, kept open by the agents) send messages at a steady rate over the chats and the live
processes, each with its own client_message_id (retried with the same id after a failure).
Each round kills the current writer with SIGKILL, keeps the load going for a while, then
starts the killed process again as a standby; the next round kills the new writer.

Per round it reports `takeover_s` (from the kill until a survivor answers /readyz as the
writer and a create sent after the kill is acknowledged, whichever is later), `offer_s` (until
the new writer's first stored offer), and the failed create and message attempts by
status. At the end the database is checked against every acknowledged create: `lost`
(acknowledged, not stored), `duplicated` (one Idempotency-Key stored or answered as two
interactions), `double_offers` (an offer while another agent's offer or hold was still open,
replayed from the event history) and `agents_over_capacity`; and against every acknowledged
message: `messages_lost`, `messages_duplicated` (stored twice, or under another seq than
the one acknowledged) and `message_seq_gaps` (chats not numbered 1..n). All should be 0.

    .venv/bin/python benchmarks/failover.py [--rounds 3] [--rate 50] [--agents 8]
                                            [--processes 2] [--warmup 3] [--after 6]
                                            [--chats 4] [--message-rate 20] [--json]
                                            [--postgres-url ...] [--redis-url ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.api_create import postgres_reachable, redis_reachable
from benchmarks.cluster import (
    Audit,
    Chatter,
    Cluster,
    MessageAudit,
    Traffic,
    audit,
    audit_messages,
    first_event_after,
)

READY_POLL_S = 0.05


@dataclass
class Round:
    """One kill of the writer and what followed."""

    round: int
    killed: int
    new_writer: int
    killed_at: float
    takeover_s: float | None
    writer_s: float
    first_create_s: float | None
    restart_s: float
    failed: dict[str, int] = field(default_factory=dict)
    slowest_create_s: float = 0.0
    offer_s: float | None = None
    messages_failed: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    """Every round, and the audit of the database after the last."""

    processes: int
    rate: float
    agents: int
    rounds: list[Round] = field(default_factory=list)
    sent: int = 0
    acknowledged: int = 0
    given_up: int = 0
    audit: dict[str, Any] = field(default_factory=dict)
    agent_actions: dict[str, Any] = field(default_factory=dict)
    requests_failed: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    chats: int = 0
    message_rate: float = 0.0
    messages_sent: int = 0
    messages_acknowledged: int = 0
    messages_given_up: int = 0
    messages_refused: int = 0
    message_audit: dict[str, Any] = field(default_factory=dict)
    messages_failed: dict[str, int] = field(default_factory=dict)
    message_failure_reasons: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The headline figures first, then the detail."""
        takeovers = [r.takeover_s for r in self.rounds]
        # A round without any acknowledged create after the kill never took over.
        complete = [t for t in takeovers if t is not None] if None not in takeovers else []
        return {
            "takeover_s": max(complete, default=None),
            "takeover_s_median": statistics.median(complete) if complete else None,
            "lost": self.audit.get("lost"),
            "duplicated": self.audit.get("duplicated"),
            "messages_lost": self.message_audit.get("lost"),
            "messages_duplicated": self.message_audit.get("duplicated"),
            "message_seq_gaps": self.message_audit.get("seq_gaps"),
            "double_offers": self.audit.get("double_offers"),
            "agents_over_capacity": self.audit.get("agents_over_capacity"),
            "requests_failed": self.requests_failed,
            **{
                name: value
                for name, value in asdict(self).items()
                if name not in {"requests_failed"}
            },
        }


def main() -> None:
    """Run the rounds and print a table (or JSON)."""
    options = _parse()
    if not postgres_reachable(options.postgres_url):
        sys.exit(f"PostgreSQL at {options.postgres_url} is not reachable")
    if not redis_reachable(options.redis_url):
        sys.exit(f"Redis at {options.redis_url} is not reachable")
    # A stop from outside (timeout, kill) still stops the servers and drops the database.
    signal.signal(signal.SIGTERM, _interrupt)
    report = asyncio.run(run(options))
    if options.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _print_table(report, options)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="writers killed, one per round")
    parser.add_argument("--rate", type=float, default=50.0, help="creates per second")
    parser.add_argument("--agents", type=int, default=8, help="agents taking offers")
    parser.add_argument("--processes", type=int, default=2, help="server processes (>= 2)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before a kill")
    parser.add_argument("--after", type=float, default=6.0, help="seconds of load after a kill")
    parser.add_argument("--hold", type=float, default=0.3, help="seconds an agent holds a chat")
    parser.add_argument("--chats", type=int, default=4, help="web chats carrying messages")
    parser.add_argument(
        "--message-rate", type=float, default=20.0, help="chat messages per second (0: none)"
    )
    parser.add_argument(
        "--lease-ttl", type=float, default=None, help="SWITCHBOARD_WRITER_LEASE_TTL_S (default 3)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create the scratch database on",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Redis shared by the processes (under a prefix of their own)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args()
    if options.processes < 2:
        parser.error("--processes must be at least 2")
    if options.message_rate > 0 and options.chats < 1:
        parser.error("--chats must be at least 1 with a --message-rate")
    return options


async def run(options: argparse.Namespace) -> Report:
    """Start the cluster and the load, kill the writer once per round, audit the database."""
    env = {}
    if options.lease_ttl is not None:
        env["SWITCHBOARD_WRITER_LEASE_TTL_S"] = str(options.lease_ttl)
    report = Report(options.processes, options.rate, options.agents)
    messages = options.message_rate > 0
    async with Cluster(
        options.postgres_url,
        options.redis_url,
        processes=options.processes,
        agents=options.agents,
        env=env,
    ) as cluster:
        traffic = Traffic(cluster, rate=options.rate, hold_s=options.hold)
        chatter = Chatter(
            cluster,
            chats=options.chats if messages else 0,
            rate=options.message_rate,
            traffic=traffic,
        )
        if messages:
            # Before the agents are available: they accept these chats and keep them open.
            await chatter.start()
        try:
            await traffic.start()
            for number in range(1, options.rounds + 1):
                await asyncio.sleep(options.warmup)
                report.rounds.append(await _round(cluster, traffic, number, options))
                _progress(f"round {number}: {report.rounds[-1]}")
        finally:
            _progress("stopping the load")
            await asyncio.gather(traffic.stop(), chatter.stop())
        _progress("auditing the database")
        ends = [one.killed_at for one in report.rounds[1:]] + [float("inf")]
        for one, end in zip(report.rounds, ends, strict=True):
            # A round's answers: from its kill to the next kill (late answers count too).
            one.failed = dict(traffic.failures(one.killed_at, end))
            one.slowest_create_s = round(traffic.slowest(one.killed_at - 1, end), 3)
            one.messages_failed = dict(chatter.failures(one.killed_at, end))
            offered_at = await first_event_after(cluster, "interaction.offered", one.killed_at)
            one.offer_s = None if offered_at is None else round(offered_at - one.killed_at, 3)
        checked: Audit = await audit(cluster, traffic.acknowledged, traffic.conflicts)
        checked_messages: MessageAudit = await audit_messages(
            cluster, chatter.acknowledged, chatter.conflicts, chatter.first_messages
        )
    report.sent = traffic.sent
    report.acknowledged = len(traffic.acknowledged)
    report.given_up = len(traffic.given_up)
    report.audit = checked.summary()
    report.requests_failed = dict(traffic.failures())
    report.failure_reasons = dict(traffic.failure_reasons())
    report.chats = len(chatter.chats)
    report.message_rate = options.message_rate
    report.messages_sent = chatter.sent
    report.messages_acknowledged = len(chatter.acknowledged)
    report.messages_given_up = len(chatter.given_up)
    report.messages_refused = len(chatter.refused)
    report.message_audit = checked_messages.summary()
    report.messages_failed = dict(chatter.failures())
    report.message_failure_reasons = dict(chatter.failure_reasons())
    report.agent_actions = {
        "accepted": traffic.agent_stats.accepted,
        "completed": traffic.agent_stats.completed,
        "errors": dict(traffic.agent_stats.errors),
    }
    return report


async def _round(
    cluster: Cluster, traffic: Traffic, number: int, options: argparse.Namespace
) -> Round:
    writer = await cluster.wait_for_writer()
    survivors = set(cluster.routable()) - {writer}
    killed_at = cluster.kill(writer)
    new_writer = await cluster.wait_for_writer(timeout_s=60, among=survivors, poll_s=READY_POLL_S)
    writer_s = time.time() - killed_at
    await asyncio.sleep(max(0.0, killed_at + options.after - time.time()))
    first = traffic.first_ack_sent_after(killed_at)
    first_create_s = None if first is None else round(first.answered_at - killed_at, 3)
    restart_started = time.monotonic()
    await cluster.restart(writer)
    restart_s = time.monotonic() - restart_started
    return Round(
        round=number,
        killed=writer,
        new_writer=new_writer,
        killed_at=killed_at,
        takeover_s=None if first_create_s is None else round(max(writer_s, first_create_s), 3),
        writer_s=round(writer_s, 3),
        first_create_s=first_create_s,
        restart_s=round(restart_s, 3),
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _progress(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _print_table(report: Report, options: argparse.Namespace) -> None:
    print(
        f"kill -9 of the routing writer, {report.processes} processes, "
        f"{report.rate:g} creates/s, {report.message_rate:g} messages/s over {report.chats} chats, "
        f"{report.agents} agents, {options.after:g}s of load after each kill"
    )
    header = (
        f"{'round':>5} {'killed':>6} {'writer':>6} {'takeover s':>10} {'writer s':>8} "
        f"{'create s':>8} {'offer s':>7} {'slowest s':>9} {'restart s':>9}  failed attempts"
    )
    print(header)
    print("-" * len(header))
    for r in report.rounds:
        failed = ", ".join(f"{status}: {count}" for status, count in sorted(r.failed.items()))
        print(
            f"{r.round:>5} {r.killed:>6} {r.new_writer:>6} {_number(r.takeover_s):>10} "
            f"{r.writer_s:>8.3f} {_number(r.first_create_s):>8} {_number(r.offer_s):>7} "
            f"{r.slowest_create_s:>9.3f} {r.restart_s:>9.3f}  {failed or '-'}"
            + (f"; messages {_counts(r.messages_failed)}" if r.messages_failed else "")
        )
    checked = report.audit
    print()
    print(
        f"creates sent {report.sent}, acknowledged {report.acknowledged}, "
        f"given up {report.given_up}; stored {checked['interactions']}; "
        f"offers {checked['offers']}; agents accepted {report.agent_actions['accepted']}, "
        f"completed {report.agent_actions['completed']}"
    )
    print(
        f"lost {checked['lost']}  duplicated {checked['duplicated']}  "
        f"double_offers {checked['double_offers']}  "
        f"agents_over_capacity {checked['agents_over_capacity']}"
    )
    messages = report.message_audit
    print(
        f"messages sent {report.messages_sent}, acknowledged {report.messages_acknowledged}, "
        f"given up {report.messages_given_up}, refused {report.messages_refused}; "
        f"stored {messages['stored']} in {messages['chats']} chats "
        f"(with each chat's opening message)"
    )
    print(
        f"messages_lost {messages['lost']}  messages_duplicated {messages['duplicated']}  "
        f"message_seq_gaps {messages['seq_gaps']}"
    )
    failed = _counts(report.requests_failed)
    print(f"failed create attempts (all retried with the same key): {failed}")
    for reason, count in sorted(report.failure_reasons.items(), key=lambda item: -item[1]):
        print(f"  {count:>5}  {reason}")
    failed = _counts(report.messages_failed)
    print(f"failed message attempts (retried with the same client_message_id): {failed}")
    for reason, count in sorted(report.message_failure_reasons.items(), key=lambda i: -i[1]):
        print(f"  {count:>5}  {reason}")
    for found in (checked, messages):
        if found.get("examples"):
            print(f"examples: {json.dumps(found['examples'], default=str)}")


def _counts(counted: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counted.items())) or "none"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
