"""Scale-out with real processes: two servers sharing PostgreSQL and Redis, one of them killed.

Each test starts `switchboard serve` processes through benchmarks/cluster.py (a throwaway
database, a Redis prefix of its own, logs whose tails are printed when a test fails).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from benchmarks.cluster import (
    Audit,
    Chatter,
    Cluster,
    MessageAudit,
    Server,
    Traffic,
    audit,
    audit_messages,
    first_event_after,
    sign_in,
)
from tests.services import require_postgres, require_redis

# The fail-over run behind several tests is set up by whichever of them runs first.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.timeout(120),
]

TAKEOVER_LIMIT_S = 5.0
LOAD_PER_S = 50
# Chat messages alongside the creates: claimants of a few chats, stored by any process.
CHATS = 4
MESSAGES_PER_S = 10
# The servers' own limit on waiting for the writer (SWITCHBOARD_WRITER_CALL_TIMEOUT_S).
CALL_TIMEOUT_S = 4.0
# Well above the servers' limits: an answer that takes this long is a hang.
CLIENT_TIMEOUT_S = 30.0
# What a create may meet while the writer is killed: a refusal to retry, or the dropped
# connection of a request in flight at the killed process. Never a 500, a 409 or a hang.
FAIL_OVER_OUTCOMES = {"503", "ReadError", "RemoteProtocolError", "ConnectError"}


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """Two server processes on a fresh database with four agents, on the test Redis."""
    async with Cluster(require_postgres(), require_redis(), processes=2, agents=4) as running:
        yield running


class PrivateRedis:
    """A redis-server of this test alone, on its own port, that can be killed and restarted."""

    def __init__(self, binary: str, port: int, log_path: Path) -> None:
        self.binary = binary
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> None:
        """Start it (empty: no persistence) and wait until it answers PING."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"redis-server on port {self.port} did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL it: its data and every connection are gone at once."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it if it runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def log(self) -> str:
        """Its output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def private_redis(tmp_path: Path, free_port: int) -> Iterator[PrivateRedis]:
    """A running redis-server on a free port, stopped after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(binary, free_port, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _other(cluster: Cluster, index: int) -> Server:
    return next(server for server in cluster.servers if server.index != index)


async def _create(
    http: httpx.AsyncClient, cluster: Cluster, server: Server, key: str
) -> httpx.Response:
    return await http.post(
        f"{server.url}/api/v1/interactions",
        json={"channel": "chat", "queue": "Benchmark", "external_id": key},
        headers={"X-API-Key": cluster.api_key, "Idempotency-Key": key},
    )


async def test_interaction_created_on_standby_is_accepted_on_writer(cluster: Cluster) -> None:
    writer = cluster.servers[await cluster.wait_for_writer()]
    standby = _other(cluster, writer.index)
    agent = cluster.agents[0]
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S) as http:
        headers = await sign_in(http, writer, agent)
        created = await _create(http, cluster, standby, "cross-process-1")
        assert created.status_code == 201, created.text
        accepted = await http.post(
            f"{writer.url}/api/v1/interactions/{created.json()['id']}/accept", headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        seen_on_standby = await http.get(
            f"{standby.url}/api/v1/interactions/{created.json()['id']}", headers=headers
        )
    assert (created.json()["state"], created.json()["agent_id"]) == ("offered", agent.id)
    assert (accepted.json()["state"], accepted.json()["agent_id"]) == ("active", agent.id)
    assert [event["type"] for event in seen_on_standby.json()["events"]][-2:] == [
        "interaction.offered",
        "interaction.accepted",
    ]


@dataclass(frozen=True)
class FailOver:
    """What one kill -9 of the writer under load left behind, for the tests to judge."""

    traffic: Traffic
    audit: Audit
    chatter: Chatter
    message_audit: MessageAudit
    killed_at: float
    writer_s: float
    first_offer_s: float | None
    accepted_before_kill: int
    accepted_after_kill: int
    warnings: list[str]


@pytest.fixture(scope="module")
def fail_over() -> FailOver:
    """Two servers, four agents at work, 50 creates/s and 10 chat messages/s over four chats;
    the writer killed, 6 s more load."""
    return asyncio.run(_kill_writer_under_load(require_postgres(), require_redis()))


async def _kill_writer_under_load(postgres_url: str, redis_url: str) -> FailOver:
    async with Cluster(postgres_url, redis_url, processes=2, agents=4) as cluster:
        traffic = Traffic(cluster, rate=LOAD_PER_S, hold_s=0.2, client_timeout_s=CLIENT_TIMEOUT_S)
        chatter = Chatter(
            cluster,
            chats=CHATS,
            rate=MESSAGES_PER_S,
            traffic=traffic,
            client_timeout_s=CLIENT_TIMEOUT_S,
        )
        # The chats start before the agents are available: the agents keep them open.
        await chatter.start()
        try:
            await traffic.start()
            await traffic.wait_for_acks(2 * LOAD_PER_S, timeout_s=15)
            await chatter.wait_for_acks(MESSAGES_PER_S, timeout_s=10)
            accepted_before_kill = traffic.agent_stats.accepted
            writer = await cluster.wait_for_writer()
            killed_at = cluster.kill(writer)
            await cluster.wait_for_writer(timeout_s=15, among={_other(cluster, writer).index})
            writer_s = time.time() - killed_at
            # Keep the load on after the kill: creates, accepts and messages alike.
            await asyncio.sleep(max(0.0, killed_at + 6 - time.time()))
        finally:
            await asyncio.gather(traffic.stop(), chatter.stop())
        offered_at = await first_event_after(cluster, "interaction.offered", killed_at)
        checked = await audit(cluster, traffic.acknowledged, traffic.conflicts)
        messages = await audit_messages(
            cluster, chatter.acknowledged, chatter.conflicts, chatter.first_messages
        )
        warnings = [line for line in cluster.tails(lines=400).splitlines() if " WARNING " in line]
    return FailOver(
        traffic=traffic,
        audit=checked,
        chatter=chatter,
        message_audit=messages,
        killed_at=killed_at,
        writer_s=writer_s,
        first_offer_s=None if offered_at is None else offered_at - killed_at,
        accepted_before_kill=accepted_before_kill,
        accepted_after_kill=traffic.agent_stats.accepted - accepted_before_kill,
        warnings=warnings,
    )


def test_kill_9_of_writer_loses_no_acknowledged_interaction(fail_over: FailOver) -> None:
    assert not fail_over.traffic.given_up
    assert fail_over.audit.acknowledged == fail_over.traffic.sent
    assert fail_over.audit.lost == 0, fail_over.audit.summary()


def test_kill_9_of_writer_stores_each_create_once(fail_over: FailOver) -> None:
    assert fail_over.audit.duplicated == 0, fail_over.audit.summary()


def test_kill_9_of_writer_loses_no_acknowledged_message(fail_over: FailOver) -> None:
    chatter = fail_over.chatter
    # The message load ran across the kill.
    assert [a for a in chatter.answers if a.outcome == "201" and a.sent_at < fail_over.killed_at]
    assert chatter.first_ack_sent_after(fail_over.killed_at) is not None
    assert not chatter.given_up and not chatter.refused, chatter.failure_reasons()
    assert fail_over.message_audit.acknowledged == chatter.sent + CHATS
    assert fail_over.message_audit.lost == 0, fail_over.message_audit.summary()


def test_kill_9_of_writer_stores_each_message_once(fail_over: FailOver) -> None:
    # Once per client_message_id, under the seq it was acknowledged with, each chat 1..n.
    assert fail_over.message_audit.duplicated == 0, fail_over.message_audit.summary()
    assert fail_over.message_audit.seq_gaps == 0, fail_over.message_audit.summary()
    assert fail_over.message_audit.chats == CHATS
    assert fail_over.message_audit.stored <= fail_over.chatter.sent + CHATS


def test_kill_9_of_writer_refuses_messages_only_with_503_or_a_dropped_connection(
    fail_over: FailOver,
) -> None:
    failures = fail_over.chatter.failures()
    assert set(failures) <= FAIL_OVER_OUTCOMES, fail_over.chatter.failure_reasons()


def test_kill_9_of_writer_never_offers_an_interaction_to_two_agents(fail_over: FailOver) -> None:
    assert fail_over.audit.offers > 0
    assert fail_over.audit.double_offers == 0, fail_over.audit.summary()


def test_kill_9_of_writer_keeps_agents_within_capacity(fail_over: FailOver) -> None:
    assert fail_over.audit.agents_over_capacity == 0, fail_over.audit.summary()


def test_kill_9_of_writer_resumes_routing_within_5s(fail_over: FailOver) -> None:
    first = fail_over.traffic.first_ack_sent_after(fail_over.killed_at)
    assert first is not None, "no create sent after the kill was acknowledged"
    takeover_s = max(fail_over.writer_s, first.answered_at - fail_over.killed_at)
    assert takeover_s < TAKEOVER_LIMIT_S, (fail_over.writer_s, first)
    assert fail_over.first_offer_s is not None
    assert fail_over.first_offer_s < TAKEOVER_LIMIT_S
    assert (fail_over.accepted_before_kill, fail_over.accepted_after_kill) > (0, 0)


def test_kill_9_of_writer_refuses_only_with_503_or_a_dropped_connection(
    fail_over: FailOver,
) -> None:
    assert set(fail_over.traffic.failures()) <= FAIL_OVER_OUTCOMES, fail_over.traffic.failures()


def test_kill_9_of_writer_answers_creates_held_by_the_standby_once_it_takes_over(
    fail_over: FailOver,
) -> None:
    # Creates sent to the standby while no writer runs wait in the request stream; the new
    # writer applies them, so their answers come with the take-over, not after a time-out.
    late = [
        answer
        for answer in fail_over.traffic.answers
        if answer.answered_at - answer.sent_at > TAKEOVER_LIMIT_S + 2
    ]
    reasons = Counter(answer.reason for answer in late)
    assert not late, (
        f"{len(late)} creates answered more than {TAKEOVER_LIMIT_S + 2:g}s after they were sent:"
        f" {dict(reasons)}; server warnings: {fail_over.warnings[-5:]}"
    )


async def test_redis_killed_and_restarted_refuses_with_503_then_elects_a_writer_again(
    private_redis: PrivateRedis,
) -> None:
    env = {"SWITCHBOARD_WRITER_CALL_TIMEOUT_S": str(CALL_TIMEOUT_S)}
    async with (
        Cluster(require_postgres(), private_redis.url, processes=2, env=env) as cluster,
        httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S) as http,
    ):
        acknowledged: dict[str, str] = {}
        for server in cluster.servers:
            created = await _create(http, cluster, server, f"before-{server.index}")
            assert created.status_code == 201, created.text
            acknowledged[f"before-{server.index}"] = created.json()["id"]

        private_redis.kill()
        refused_keys: dict[int, str] = {}
        for server in cluster.servers:
            refused_keys[server.index], refused = await _until_refused(
                http, cluster, server, acknowledged
            )
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["status"] == 503
            assert refused.headers["Retry-After"]
            asked = time.monotonic()
            not_ready = await http.get(f"{server.url}/readyz")
            assert time.monotonic() - asked < CALL_TIMEOUT_S
            assert not_ready.status_code == 503, not_ready.text
            assert not_ready.headers["Retry-After"]

        private_redis.start()
        restarted = time.monotonic()
        await cluster.wait_for_writer(timeout_s=10)
        for server in cluster.servers:
            # The create refused during the outage, retried with its key, is stored once.
            key = refused_keys[server.index]
            await _until_created(http, cluster, server, key, acknowledged, restarted + 12)
        recovered_s = time.monotonic() - restarted
        checked = await audit(cluster, acknowledged)

    assert recovered_s < 12
    assert (checked.lost, checked.duplicated) == (0, 0), checked.summary()


async def _until_refused(
    http: httpx.AsyncClient, cluster: Cluster, server: Server, acknowledged: dict[str, str]
) -> tuple[str, httpx.Response]:
    """Create on `server` until it answers 503: the writer may store a few until it steps down.

    Every answer must come in time (no hang) and be a 201 or a 503, never a 500.
    """
    deadline = time.monotonic() + 15
    for attempt in range(100):
        key = f"outage-{server.index}-{attempt}"
        sent = time.monotonic()
        response = await _create(http, cluster, server, key)
        assert time.monotonic() - sent < CALL_TIMEOUT_S + 2, "the answer took too long"
        assert response.status_code in (201, 503), response.text
        if response.status_code == 503:
            return key, response
        acknowledged[key] = response.json()["id"]
        assert time.monotonic() < deadline, f"server {server.index} kept creating without Redis"
        await asyncio.sleep(0.2)
    raise AssertionError(f"server {server.index} never refused a create without Redis")


async def _until_created(
    http: httpx.AsyncClient,
    cluster: Cluster,
    server: Server,
    key: str,
    acknowledged: dict[str, str],
    deadline: float,
) -> None:
    """Create on `server` with `key` (retried) until it answers 201, before `deadline`."""
    for _ in range(200):
        response = await _create(http, cluster, server, key)
        if response.status_code == 201:
            acknowledged[key] = response.json()["id"]
            return
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, f"server {server.index}: {response.text}"
        await asyncio.sleep(0.2)
    raise AssertionError(f"server {server.index} never created after Redis came back")
