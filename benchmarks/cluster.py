"""Real server processes sharing one PostgreSQL database and one Redis: a fail-over harness.

`Cluster` makes a throwaway database (migrated, with the "Benchmark" queue, an integrator API
key and N agents), starts K `switchboard serve` processes on 127.0.0.1 that share it and a
Redis (under a prefix of their own), knows which one is the routing writer, can kill -9 one
and start it again, and always cleans up: processes stopped, database dropped, Redis keys
deleted. Each server writes its output to a log file; the tails are printed when the block
fails.

`Traffic` drives it the way integrators and agents would: creates at a steady rate, each with
its own Idempotency-Key (retried with the same key after a failure), spread over the live
processes, while agents signed in on either process accept their offers and complete them.
It records every answer. `audit` then checks the database against what was acknowledged.

`Chatter` adds the claimants' side: a few web chats started up front, then messages at a
steady rate over those chats and the live processes, each with its own client_message_id
(retried with the same id after a failure). Messages do not go through the routing writer:
any process stores them. `audit_messages` checks each acknowledged message is stored once,
under the number it was answered with, and every chat is numbered 1..n.

Used by `benchmarks/failover.py` and `tests/runtime/test_failover.py`; everything talks to
127.0.0.1 only, and every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import httpx
import redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.agents.models import StaffRole  # noqa: E402
from app.agents.service import create_staff  # noqa: E402
from app.db.session import create_engine, create_session_factory  # noqa: E402
from benchmarks.api_create import free_port, prepare_service_database, run_admin_statement  # noqa: E402

QUEUE = "Benchmark"
AGENT_PASSWORD = "cluster-agent-password-1"
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
# Settings the servers must not inherit from whoever runs the harness.
_INHERITED_OUT = ("SWITCHBOARD_", "DATABASE_URL", "REDIS_URL")
# Every client of the harness comes from 127.0.0.1: lift the servers' per-address limit on
# starting web chats (Cluster(env=...) may set it back).
_DEFAULT_SERVER_ENV = {"SWITCHBOARD_CHAT_STARTS_PER_ADDRESS": "100000"}
# An offer stays open until one of these; an accepted interaction stays with its agent until
# one of _RELEASES. A restore (a new writer rebuilt the engine) re-queues open offers.
_OFFER_ENDS = frozenset(
    {
        "interaction.offer_rejected",
        "interaction.offer_timed_out",
        "interaction.offer_revoked",
    }
)
_RELEASES = frozenset(
    {
        "interaction.completed",
        "interaction.cancelled",
        "interaction.abandoned",
        "interaction.transferred",
    }
)


class ClusterError(Exception):
    """A server did not start, answer or stop as expected; the message says which."""


@dataclass(frozen=True)
class Agent:
    """An agent account of the cluster's database."""

    id: str
    username: str
    password: str = AGENT_PASSWORD


@dataclass
class Server:
    """One `switchboard serve` process (or the slot for it while it is down)."""

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while its process runs."""
        return self.process is not None and self.process.poll() is None


class Cluster:
    """K server processes on one throwaway PostgreSQL database and one Redis prefix."""

    def __init__(
        self,
        postgres_url: str,
        redis_url: str,
        *,
        processes: int = 2,
        agents: int = 0,
        agent_capacity: dict[str, int] | None = None,
        workdir: Path | None = None,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
    ) -> None:
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.prefix = f"cluster-{uuid.uuid4().hex[:10]}:"
        self.secret_key = uuid.uuid4().hex * 2
        self.database_name = f"switchboard_cluster_{uuid.uuid4().hex[:10]}"
        url = make_url(postgres_url).set(drivername="postgresql+asyncpg")
        self.database_url = url.set(database=self.database_name).render_as_string(
            hide_password=False
        )
        self.api_key = ""
        self.agents: list[Agent] = []
        self._agent_count = agents
        self._agent_capacity = agent_capacity or {}
        self._log_level = log_level
        self._extra_env = env or {}
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="switchboard-cluster-")
            workdir = Path(self._tempdir.name)
        self.workdir = workdir
        self.servers = [
            Server(index, free_port(), workdir / f"server-{index}.log")
            for index in range(processes)
        ]
        # What a load balancer in front would route to: running and not being killed.
        self._routable: set[int] = set()
        self._database_created = False

    async def __aenter__(self) -> Cluster:
        try:
            await self.start()
        except BaseException:
            print(self.tails(), file=sys.stderr)
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            print(self.tails(), file=sys.stderr)
        await self.close()

    async def start(self) -> None:
        """Make and seed the database, then start every server and wait until all are ready."""
        await run_admin_statement(self.postgres_url, f'CREATE DATABASE "{self.database_name}"')
        self._database_created = True
        self.api_key = await prepare_service_database(self.database_url)
        self.agents = await _add_agents(self.database_url, self._agent_count, self._agent_capacity)
        for server in self.servers:
            self._spawn(server)
        await asyncio.gather(*(self.wait_ready(server.index) for server in self.servers))

    async def close(self) -> None:
        """Stop every server, drop the database and the Redis keys; never raises."""
        self._routable.clear()
        for server in self.servers:
            if server.running:
                assert server.process is not None
                server.process.terminate()
        try:
            for server in self.servers:
                await _reap(server)
        finally:
            # Interrupted while waiting (a test's time-out, say): leave no server running.
            for server in self.servers:
                if server.running:
                    assert server.process is not None
                    server.process.kill()
        if self._database_created:
            drop = f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)'
            with contextlib.suppress(Exception):
                await run_admin_statement(self.postgres_url, drop)
            self._database_created = False
        await asyncio.to_thread(_delete_redis_keys, self.redis_url, self.prefix)
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def server_env(self, server: Server) -> dict[str, str]:
        """The environment a server process runs with."""
        inherited = {
            name: value for name, value in os.environ.items() if not name.startswith(_INHERITED_OUT)
        }
        return {
            **inherited,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SWITCHBOARD_REDIS_PREFIX": self.prefix,
            "SWITCHBOARD_SECRET_KEY": self.secret_key,
            "SWITCHBOARD_DATA_DIR": str(self.workdir / f"data-{server.index}"),
            "SWITCHBOARD_LOG_LEVEL": self._log_level,
            "PYTHONUNBUFFERED": "1",
            **_DEFAULT_SERVER_ENV,
            **self._extra_env,
        }

    def _spawn(self, server: Server) -> None:
        server.starts += 1
        with server.log_path.open("ab") as log:
            log.write(f"\n=== start {server.starts} at {time.time():.3f} ===\n".encode())
            log.flush()
            server.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(server.port)],
                cwd=ROOT,
                env=self.server_env(server),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, index: int, timeout_s: float = STARTUP_TIMEOUT_S) -> dict[str, Any]:
        """Wait until server `index` answers /readyz 200; its body. Raises with the log tail."""
        server = self.servers[index]
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=3) as client:
            while time.monotonic() < deadline:
                if not server.running:
                    raise ClusterError(
                        f"server {index} exited with {_returncode(server)} while starting:\n"
                        + self.tail(index)
                    )
                status, body = await _readyz(client, server)
                if status == 200:
                    self._routable.add(index)
                    return body
                await asyncio.sleep(0.1)
        raise ClusterError(f"server {index} not ready within {timeout_s:g}s:\n" + self.tail(index))

    async def readyz(self, index: int, timeout_s: float = 3) -> tuple[int | None, dict[str, Any]]:
        """(status, body) of server `index`'s /readyz; status None when it does not answer."""
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            return await _readyz(client, self.servers[index])

    async def roles(self) -> dict[int, str | None]:
        """Each running server's role as its /readyz says (None when it does not answer)."""
        async with httpx.AsyncClient(timeout=3) as client:
            running = [server for server in self.servers if server.running]
            answers = await asyncio.gather(*(_readyz(client, server) for server in running))
        return {
            server.index: body.get("role")
            for server, (_, body) in zip(running, answers, strict=True)
        }

    async def wait_for_writer(
        self, timeout_s: float = 30, among: set[int] | None = None, poll_s: float = 0.05
    ) -> int:
        """The index of the server that answers /readyz 200 with role `writer` (waits for one)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                candidates = [
                    server
                    for server in self.servers
                    if server.running and (among is None or server.index in among)
                ]
                answers = await asyncio.gather(*(_readyz(client, one) for one in candidates))
                for server, (status, body) in zip(candidates, answers, strict=True):
                    if status == 200 and body.get("role") == "writer":
                        return server.index
                await asyncio.sleep(poll_s)
        raise ClusterError(f"no writer within {timeout_s:g}s:\n" + self.tails())

    def routable(self) -> list[int]:
        """Indexes a load balancer would send requests to now."""
        return sorted(index for index in self._routable if self.servers[index].running)

    def kill(self, index: int) -> float:
        """kill -9 server `index`; returns the wall-clock time of the kill."""
        server = self.servers[index]
        self._routable.discard(index)
        if server.process is None or server.process.poll() is not None:
            raise ClusterError(f"server {index} is not running")
        killed_at = time.time()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=STOP_TIMEOUT_S)
        return killed_at

    async def restart(self, index: int, timeout_s: float = STARTUP_TIMEOUT_S) -> dict[str, Any]:
        """Start server `index` again on its port (after a kill); its /readyz body once ready."""
        server = self.servers[index]
        if server.running:
            raise ClusterError(f"server {index} is still running")
        self._spawn(server)
        return await self.wait_ready(index, timeout_s)

    async def connect(self) -> asyncpg.Connection:
        """A plain asyncpg connection to the cluster's database (close it after use)."""
        url = make_url(self.database_url).set(drivername="postgresql")
        return await asyncpg.connect(url.render_as_string(hide_password=False))

    def tail(self, index: int, lines: int = 40) -> str:
        """The last lines of server `index`'s log."""
        path = self.servers[index].log_path
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return f"--- server {index}: no log ---"
        body = "\n".join(text.splitlines()[-lines:])
        return f"--- server {index} ({path}) ---\n{body}"

    def tails(self, lines: int = 40) -> str:
        """The last lines of every server's log."""
        return "\n".join(self.tail(server.index, lines) for server in self.servers)


async def _readyz(client: httpx.AsyncClient, server: Server) -> tuple[int | None, dict[str, Any]]:
    try:
        response = await client.get(f"{server.url}/readyz")
    except httpx.HTTPError:
        return None, {}
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}


async def _reap(server: Server) -> None:
    process = server.process
    if process is None:
        return
    try:
        await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)


def _returncode(server: Server) -> int | None:
    return None if server.process is None else server.process.poll()


async def _add_agents(database_url: str, count: int, capacity: dict[str, int]) -> list[Agent]:
    if not count:
        return []
    engine = create_engine(database_url)
    agents: list[Agent] = []
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for number in range(count):
                username = f"agent-{number + 1}"
                staff = await create_staff(
                    session,
                    username=username,
                    password=AGENT_PASSWORD,
                    role=StaffRole.AGENT,
                    display_name=f"Agent {number + 1}",
                    capacity=capacity,
                )
                agents.append(Agent(str(staff.id), username))
    finally:
        await engine.dispose()
    return agents


def _delete_redis_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    except redis.RedisError:
        pass  # a Redis that is gone (a test stopped it) keeps nothing of ours either
    finally:
        client.close()


# --- traffic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One create attempt: which key, where, when sent and answered, and how it ended."""

    key: str
    server: int
    attempt: int
    sent_at: float
    answered_at: float
    outcome: str  # the HTTP status ("201", "503", ...) or a transport error's name
    interaction_id: str | None = None
    retry_after: str | None = None
    detail: str = ""

    @property
    def reason(self) -> str:
        """The outcome and, for a problem+json answer, the start of its detail."""
        try:
            detail = str(json.loads(self.detail).get("detail", ""))
        except (ValueError, AttributeError):
            detail = ""
        return f"{self.outcome} {detail[:90]}".strip()


@dataclass
class AgentStats:
    """What the agents did, and the answers other than success they got."""

    accepted: int = 0
    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Traffic:
    """Creates at `rate` per second over the routable servers, and agents working their offers.

    Every create carries its own Idempotency-Key (also its `external_id`, so the database
    shows which request made each row); a failed one is retried with the same key on the
    next server, up to `max_attempts` times. Stops by itself after `max_duration_s`.
    Interactions in `keep_open` (a `Chatter`'s chats) are accepted but never completed.
    """

    def __init__(
        self,
        cluster: Cluster,
        *,
        rate: float,
        agents: list[Agent] | None = None,
        hold_s: float = 0.3,
        poll_s: float = 0.1,
        client_timeout_s: float = 30.0,
        max_attempts: int = 8,
        max_duration_s: float = 300.0,
    ) -> None:
        self.cluster = cluster
        self.rate = rate
        self.agents = cluster.agents if agents is None else agents
        self.hold_s = hold_s
        self.poll_s = poll_s
        self.client_timeout_s = client_timeout_s
        self.max_attempts = max_attempts
        self.max_duration_s = max_duration_s
        self.run_id = uuid.uuid4().hex[:8]
        self.answers: list[Answer] = []
        self.acknowledged: dict[str, str] = {}
        # Keys answered 201 with two different interaction ids: a duplicate by definition.
        self.conflicts: list[tuple[str, str, str]] = []
        self.given_up: set[str] = set()
        self.agent_stats = AgentStats()
        # Chats the agents accept but never complete, so they stay open for messages.
        self.keep_open: set[str] = set()
        self.sent = 0
        self._stopping = asyncio.Event()
        self._acked = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._raw = RawHttp(client_timeout_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pacer: asyncio.Task[None] | None = None
        self._agent_tasks: list[asyncio.Task[None]] = []
        self._round_robin = itertools.count()

    async def start(self) -> None:
        """Sign the agents in (on alternating servers), make them available, start the load."""
        self._client = httpx.AsyncClient(timeout=self.client_timeout_s)
        for number, agent in enumerate(self.agents):
            token = await self._sign_in(agent, number)
            self._agent_tasks.append(
                asyncio.create_task(self._work(agent, token, number), name=f"agent-{number}")
            )
        self._pacer = asyncio.create_task(self._pace(), name="creates")

    async def stop(self, drain_s: float = 25.0) -> None:
        """Stop sending new creates, let retries finish (up to `drain_s`), stop the agents."""
        self._stopping.set()
        if self._pacer is not None:
            await self._pacer
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=drain_s)
        for task in [*self._tasks, *self._agent_tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._agent_tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        self._raw.close()

    async def __aenter__(self) -> Traffic:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def failures(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """Non-201 outcomes of attempts answered in [since, until), counted by outcome."""
        return Counter(
            answer.outcome
            for answer in self.answers
            if answer.outcome != "201" and since <= answer.answered_at < until
        )

    def first_ack_sent_after(self, moment: float) -> Answer | None:
        """The first 201 (by answer time) among attempts sent after `moment`."""
        acks = [a for a in self.answers if a.outcome == "201" and a.sent_at > moment]
        return min(acks, key=lambda a: a.answered_at, default=None)

    def failure_reasons(self) -> Counter[str]:
        """Non-201 outcomes by outcome and the start of the problem's detail."""
        return Counter(answer.reason for answer in self.answers if answer.outcome != "201")

    def slowest(self, since: float = 0.0, until: float = float("inf")) -> float:
        """The longest any attempt sent in [since, until) took to be answered, in seconds."""
        times = [a.answered_at - a.sent_at for a in self.answers if since <= a.sent_at < until]
        return max(times, default=0.0)

    async def wait_for_acks(self, count: int, timeout_s: float) -> None:
        """Wait (bounded) until at least `count` creates are acknowledged."""
        deadline = time.monotonic() + timeout_s
        while len(self.acknowledged) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), remaining)

    # creates

    async def _pace(self) -> None:
        started = time.monotonic()
        for number in itertools.count():
            due = started + number / self.rate
            if due - started > self.max_duration_s:
                return
            delay = due - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            task = asyncio.create_task(self._create(f"{self.run_id}-{number}"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self.sent += 1

    async def _create(self, key: str) -> None:
        body = {
            "channel": "chat",
            "queue": QUEUE,
            "customer": {"name": "Ana"},
            "external_id": key,
        }
        headers = {
            "Content-Type": "application/json",
            "X-API-Key": self.cluster.api_key,
            "Idempotency-Key": key,
        }
        for attempt in range(self.max_attempts):
            index = self._pick_server()
            if index is None:
                await asyncio.sleep(0.1)
                continue
            server = self.cluster.servers[index]
            sent_at = time.time()
            try:
                response = await self._raw.request(
                    server, "POST", "/api/v1/interactions", json.dumps(body).encode(), headers
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                outcome = _transport_error(exc)
                self._record(key, index, attempt, sent_at, outcome, detail=repr(exc))
                await asyncio.sleep(0.05)
                continue
            status = str(response.status_code)
            if response.status_code == 201:
                interaction_id = str(json.loads(response.body)["id"])
                self._record(key, index, attempt, sent_at, status, interaction_id)
                earlier = self.acknowledged.setdefault(key, interaction_id)
                if earlier != interaction_id:
                    self.conflicts.append((key, earlier, interaction_id))
                self._acked.set()
                return
            retry_after = response.headers.get("retry-after")
            self._record(
                key,
                index,
                attempt,
                sent_at,
                status,
                retry_after=retry_after,
                detail=response.body.decode(errors="replace"),
            )
            await asyncio.sleep(_retry_delay(retry_after))
        self.given_up.add(key)

    def _pick_server(self) -> int | None:
        routable = self.cluster.routable()
        if not routable:
            return None
        return routable[next(self._round_robin) % len(routable)]

    def _record(
        self,
        key: str,
        server: int,
        attempt: int,
        sent_at: float,
        outcome: str,
        interaction_id: str | None = None,
        *,
        retry_after: str | None = None,
        detail: str = "",
    ) -> None:
        self.answers.append(
            Answer(
                key,
                server,
                attempt,
                sent_at,
                time.time(),
                outcome,
                interaction_id,
                retry_after,
                detail[:2000],
            )
        )

    # agents

    async def _sign_in(self, agent: Agent, number: int) -> str:
        assert self._client is not None
        server = self.cluster.servers[self._home(number)]
        headers = await sign_in(self._client, server, agent)
        return headers["Authorization"].removeprefix("Bearer ")

    def _home(self, number: int) -> int:
        routable = self.cluster.routable() or [0]
        preferred = number % len(self.cluster.servers)
        return preferred if preferred in routable else routable[number % len(routable)]

    async def _work(self, agent: Agent, token: str, number: int) -> None:
        assert self._client is not None
        headers = {"Authorization": f"Bearer {token}"}
        held: dict[str, float] = {}
        deadline = time.monotonic() + self.max_duration_s
        while not self._stopping.is_set() and time.monotonic() < deadline:
            base = self.cluster.servers[self._home(number)].url + "/api/v1/interactions"
            offered = await self._call(
                "GET", base, headers, params={"state": "offered", "agent_id": agent.id}
            )
            for item in (offered or {}).get("items", []):
                if await self._call("POST", f"{base}/{item['id']}/accept", headers) is not None:
                    self.agent_stats.accepted += 1
                    held[item["id"]] = time.monotonic()
            for interaction_id, since in list(held.items()):
                if time.monotonic() - since < self.hold_s:
                    continue
                del held[interaction_id]
                if interaction_id in self.keep_open:
                    continue
                if await self._call("POST", f"{base}/{interaction_id}/complete", headers):
                    await self._call("POST", f"{base}/{interaction_id}/finish-wrap-up", headers)
                    self.agent_stats.completed += 1
            await asyncio.sleep(self.poll_s)

    async def _call(
        self, method: str, url: str, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        assert self._client is not None
        try:
            response = await self._client.request(method, url, headers=headers, params=params)
        except httpx.HTTPError as exc:
            self.agent_stats.errors[type(exc).__name__] += 1
            return None
        if response.status_code >= 300:
            action = url.rsplit("/", 1)[-1] if method == "POST" else "list"
            self.agent_stats.errors[f"{action} {response.status_code}"] += 1
            return None
        body: dict[str, Any] = response.json()
        return body


class Chatter:
    """Claimants of `chats` web chats sending `rate` messages per second between them.

    `start` opens the chats (POST /api/v1/chats on the "Benchmark" topic; each answer brings
    the claimant's token and the first message, numbered 1), then sends messages round-robin
    over the chats and the routable servers (so each chat is written by every process). Each
    message has its own client_message_id; a failed send (503, dropped connection, timeout)
    is retried with the same id on the next server, up to `max_attempts` times, while a 4xx
    refusal is final. Every acknowledged message is recorded with the `seq` it was answered
    with. Pass `traffic` so that its agents keep these chats open (a completed chat refuses
    messages). Stops by itself after `max_duration_s`.
    """

    def __init__(
        self,
        cluster: Cluster,
        *,
        chats: int = 4,
        rate: float = 20.0,
        traffic: Traffic | None = None,
        client_timeout_s: float = 10.0,
        max_attempts: int = 8,
        max_duration_s: float = 300.0,
    ) -> None:
        self.cluster = cluster
        self.chat_count = chats
        self.rate = rate
        self.traffic = traffic
        self.max_attempts = max_attempts
        self.max_duration_s = max_duration_s
        self.run_id = uuid.uuid4().hex[:8]
        # interaction id -> claimant token, in the order the chats were started
        self.chats: dict[str, str] = {}
        # interaction id -> seq of the chat's first message (from the POST /chats answer)
        self.first_messages: dict[str, int] = {}
        # Every send attempt; `key` is the client_message_id, `interaction_id` the chat.
        self.answers: list[Answer] = []
        # (interaction id, client_message_id) -> the seq its 201 answered
        self.acknowledged: dict[tuple[str, str], int] = {}
        # (interaction id, client_message_id, seq, other seq): one message answered twice
        # with different numbers, a duplicate by definition.
        self.conflicts: list[tuple[str, str, int, int]] = []
        self.given_up: set[tuple[str, str]] = set()
        self.refused: set[tuple[str, str]] = set()  # a 4xx: final, not retried
        self.sent = 0
        self._stopping = asyncio.Event()
        self._acked = asyncio.Event()
        self._raw = RawHttp(client_timeout_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pacer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the chats one by one (raises if one cannot start), then the messages."""
        for number in range(self.chat_count):
            await self._start_chat(number)
        self._pacer = asyncio.create_task(self._pace(), name="messages")

    async def stop(self, drain_s: float = 25.0) -> None:
        """Stop sending new messages, let retries finish (up to `drain_s`)."""
        self._stopping.set()
        if self._pacer is not None:
            await self._pacer
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=drain_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._raw.close()

    def failures(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """Non-201 outcomes of send attempts answered in [since, until), counted by outcome."""
        return Counter(
            answer.outcome
            for answer in self.answers
            if answer.outcome != "201" and since <= answer.answered_at < until
        )

    def failure_reasons(self) -> Counter[str]:
        """Non-201 outcomes by outcome and the start of the problem's detail."""
        return Counter(answer.reason for answer in self.answers if answer.outcome != "201")

    def first_ack_sent_after(self, moment: float) -> Answer | None:
        """The first 201 (by answer time) among send attempts sent after `moment`."""
        acks = [a for a in self.answers if a.outcome == "201" and a.sent_at > moment]
        return min(acks, key=lambda a: a.answered_at, default=None)

    async def wait_for_acks(self, count: int, timeout_s: float) -> None:
        """Wait (bounded) until at least `count` messages are acknowledged."""
        deadline = time.monotonic() + timeout_s
        while len(self.acknowledged) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), remaining)

    async def _start_chat(self, number: int) -> None:
        body = {
            "name": f"Claimant {number + 1}",
            "language": "en",
            "topic": QUEUE,
            "message": f"chat {self.run_id}-{number} opens",
        }
        headers = {"Content-Type": "application/json"}
        outcomes: list[str] = []
        for attempt in range(self.max_attempts):
            server = self.cluster.servers[self._pick_server(number + attempt)]
            try:
                response = await self._raw.request(
                    server, "POST", "/api/v1/chats", json.dumps(body).encode(), headers
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                outcomes.append(_transport_error(exc))
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 201:
                started = json.loads(response.body)
                interaction_id = str(started["interaction_id"])
                if self.traffic is not None:
                    self.traffic.keep_open.add(interaction_id)
                self.chats[interaction_id] = str(started["token"])
                self.first_messages[interaction_id] = int(started["message"]["seq"])
                return
            outcomes.append(f"{response.status_code} {response.body[:200]!r}")
            await asyncio.sleep(_retry_delay(response.headers.get("retry-after")))
        raise ClusterError(f"chat {number} did not start: {outcomes}\n" + self.cluster.tails())

    async def _pace(self) -> None:
        chats = list(self.chats.items())
        started = time.monotonic()
        for number in itertools.count():
            due = started + number / self.rate
            if due - started > self.max_duration_s:
                return
            delay = due - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            interaction_id, token = chats[number % len(chats)]
            # Shifted once per lap over the chats, so every chat is sent to every server.
            first_server = number + number // len(chats)
            message_id = f"{self.run_id}-{number}"
            task = asyncio.create_task(self._send(interaction_id, token, message_id, first_server))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self.sent += 1

    async def _send(self, interaction_id: str, token: str, message_id: str, first: int) -> None:
        body = json.dumps({"client_message_id": message_id, "body": f"message {message_id}"})
        path = f"/api/v1/chats/{interaction_id}/messages"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        key = (interaction_id, message_id)
        for attempt in range(self.max_attempts):
            index = self._pick_server(first + attempt)  # a retry goes to the next server
            server = self.cluster.servers[index]
            sent_at = time.time()
            try:
                response = await self._raw.request(server, "POST", path, body.encode(), headers)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                self._record(key, index, attempt, sent_at, _transport_error(exc), repr(exc))
                await asyncio.sleep(0.05)
                continue
            status = response.status_code
            detail = "" if status == 201 else response.body.decode(errors="replace")
            self._record(key, index, attempt, sent_at, str(status), detail)
            if status == 201:
                seq = int(json.loads(response.body)["seq"])
                earlier = self.acknowledged.setdefault(key, seq)
                if earlier != seq:
                    self.conflicts.append((*key, earlier, seq))
                self._acked.set()
                return
            if 400 <= status < 500 and status not in (408, 429):
                self.refused.add(key)
                return
            await asyncio.sleep(_retry_delay(response.headers.get("retry-after")))
        self.given_up.add(key)

    def _pick_server(self, number: int) -> int:
        routable = self.cluster.routable() or [0]
        return routable[number % len(routable)]

    def _record(
        self,
        key: tuple[str, str],
        server: int,
        attempt: int,
        sent_at: float,
        outcome: str,
        detail: str,
    ) -> None:
        interaction_id, message_id = key
        self.answers.append(
            Answer(
                message_id,
                server,
                attempt,
                sent_at,
                time.time(),
                outcome,
                interaction_id,
                detail=detail[:2000],
            )
        )


async def sign_in(
    client: httpx.AsyncClient, server: Server, agent: Agent, *, available: bool = True
) -> dict[str, str]:
    """Sign `agent` in on `server` (and go available); the headers that carry the token."""
    response = await client.post(
        f"{server.url}/api/v1/auth/login",
        json={"username": agent.username, "password": agent.password},
    )
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    if available:
        presence = await client.put(
            f"{server.url}/api/v1/agents/{agent.id}/presence",
            json={"state": "available"},
            headers=headers,
        )
        presence.raise_for_status()
    return headers


def _retry_delay(retry_after: str | None) -> float:
    try:
        seconds = float(retry_after) if retry_after else 0.5
    except ValueError:
        seconds = 0.5
    return min(max(seconds, 0.1), 2.0)


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    body: bytes


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for the create load.

    httpx's async pool spends its time matching queued requests to connections once a few
    hundred are in flight (as while a fail-over holds them), starving the load itself; this
    keeps one connection per request in flight and reuses idle ones briefly.
    """

    # Below uvicorn's keep-alive timeout (5 s), so an idle connection is never reused just as
    # the server closes it.
    IDLE_S = 2.0

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # (server index, its start number) -> idle (reader, writer, idle since)
        self._idle: dict[
            tuple[int, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]
        ] = defaultdict(list)

    async def request(
        self, server: Server, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> RawResponse:
        """Send one request to `server` and read its answer, within the timeout."""
        reader, writer = await self._connection(server)
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            response = await asyncio.wait_for(_read_response(reader), self.timeout_s)
        except BaseException:
            writer.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle[(server.index, server.starts)].append((reader, writer, time.monotonic()))
        return response

    def close(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for _, writer, _ in idle:
                writer.close()
        self._idle.clear()

    async def _connection(
        self, server: Server
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        key = (server.index, server.starts)
        for stale in [other for other in self._idle if other[0] == key[0] and other != key]:
            for _, writer, _ in self._idle.pop(stale):
                writer.close()  # connections to a process that was killed since
        idle = self._idle[key]
        while idle:
            reader, writer, since = idle.pop()
            if not reader.at_eof() and time.monotonic() - since < self.IDLE_S:
                return reader, writer
            writer.close()
        return await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", server.port), self.timeout_s
        )


async def _read_response(reader: asyncio.StreamReader) -> RawResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RawResponse(status, headers, body)


def _transport_error(exc: BaseException) -> str:
    """A name for how a request failed without an answer, in httpx's words."""
    if isinstance(exc, ConnectionRefusedError):
        return "ConnectError"
    if isinstance(exc, TimeoutError):
        return "ReadTimeout"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "RemoteProtocolError"  # the connection closed before a whole answer
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "ReadError"
    return type(exc).__name__


# --- audit -----------------------------------------------------------------------------------


@dataclass
class Audit:
    """The database checked against what was acknowledged (all counts should be 0)."""

    interactions: int
    acknowledged: int
    lost: int
    duplicated: int
    double_offers: int
    agents_over_capacity: int
    offers: int
    examples: dict[str, list[Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The counts, and a few examples of anything found."""
        return {
            "interactions": self.interactions,
            "acknowledged": self.acknowledged,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "double_offers": self.double_offers,
            "agents_over_capacity": self.agents_over_capacity,
            "offers": self.offers,
            "examples": {name: found[:5] for name, found in self.examples.items() if found},
        }


async def audit(
    cluster: Cluster,
    acknowledged: dict[str, str],
    conflicts: Sequence[tuple[str, str, str]] = (),
) -> Audit:
    """Check the stored interactions and their histories against what clients were told.

    `acknowledged` maps each Idempotency-Key (also stored as `external_id`) to the id its
    201 answered; `conflicts` lists keys answered 201 with two different ids.

    * lost: acknowledged (201) ids missing from the database;
    * duplicated: a key answered with two ids, a key stored as two interactions, or a stored
      idempotency record pointing at another interaction than the one acknowledged;
    * double_offers: an `interaction.offered` while an earlier offer (or hold) by another
      agent was still open in the history;
    * agents_over_capacity: agents whose load per channel (open offers, active, wrap-up),
      replayed from the history or stored now, ever exceeded their capacity.
    """
    connection = await cluster.connect()
    try:
        rows = await connection.fetch(
            "SELECT id::text AS id, external_id, channel::text AS channel, state::text AS state,"
            " agent_id::text AS agent_id FROM interactions"
        )
        keys = await connection.fetch(
            "SELECT key, interaction_id::text AS interaction_id FROM idempotency_keys"
        )
        events = await connection.fetch(
            "SELECT id, interaction_id::text AS interaction_id, type, data FROM interaction_events"
            " ORDER BY id"
        )
        staff = await connection.fetch(
            "SELECT id::text AS id, capacity FROM staff WHERE role::text = 'agent'"
        )
    finally:
        await connection.close()
    stored_ids = {row["id"] for row in rows}
    channel_of = {row["id"]: row["channel"] for row in rows}
    examples: dict[str, list[Any]] = defaultdict(list)

    lost = [(key, iid) for key, iid in acknowledged.items() if iid not in stored_ids]
    examples["lost"] = lost
    by_key: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["external_id"]:
            by_key[row["external_id"]].append(row["id"])
    twice = {key: ids for key, ids in by_key.items() if len(ids) > 1}
    record_of = {row["key"]: row["interaction_id"] for row in keys}
    mismatched = [
        (key, iid, record_of[key])
        for key, iid in acknowledged.items()
        if key in record_of and record_of[key] != iid
    ]
    examples["duplicated"] = [*conflicts, *twice.items(), *mismatched]
    duplicated = len({*(c[0] for c in conflicts), *twice, *(m[0] for m in mismatched)})

    capacities = {row["id"]: _capacity(row["capacity"]) for row in staff}
    double, over, offers = _replay(events, channel_of, capacities)
    examples["double_offers"] = double
    over |= _over_capacity_now(rows, capacities)
    examples["agents_over_capacity"] = sorted(over)
    return Audit(
        interactions=len(rows),
        acknowledged=len(acknowledged),
        lost=len(lost),
        duplicated=duplicated,
        double_offers=len({item[0] for item in double}),
        agents_over_capacity=len({agent for agent, _ in over}),
        offers=offers,
        examples=dict(examples),
    )


@dataclass
class MessageAudit:
    """Stored chat messages checked against what was acknowledged (lost, duplicated and
    seq_gaps should be 0)."""

    chats: int
    stored: int
    acknowledged: int
    lost: int
    duplicated: int
    seq_gaps: int
    examples: dict[str, list[Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The counts, and a few examples of anything found."""
        return {
            "chats": self.chats,
            "stored": self.stored,
            "acknowledged": self.acknowledged,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "seq_gaps": self.seq_gaps,
            "examples": {name: found[:5] for name, found in self.examples.items() if found},
        }


async def audit_messages(
    cluster: Cluster,
    acknowledged: Mapping[tuple[str, str], int],
    conflicts: Sequence[tuple[str, str, int, int]] = (),
    first_messages: Mapping[str, int] | None = None,
) -> MessageAudit:
    """Check the stored chat messages against what the senders were told.

    `acknowledged` maps (interaction id, client_message_id) to the seq its 201 answered;
    `conflicts` lists messages answered with two different seqs; `first_messages` maps each
    chat to the seq of its opening message (from POST /chats, without a client_message_id).

    * lost: an acknowledged message not stored (an opening message: no message without a
      client_message_id under its seq);
    * duplicated: a message answered with two seqs, a client_message_id stored twice in a
      chat, or stored under another seq than the one acknowledged;
    * seq_gaps: chats whose stored seqs are not exactly 1..n (a hole or a repeat).
    """
    connection = await cluster.connect()
    try:
        rows = await connection.fetch(
            "SELECT interaction_id::text AS interaction_id, seq, client_message_id"
            " FROM messages ORDER BY interaction_id, seq"
        )
    finally:
        await connection.close()
    seqs: dict[str, list[int]] = defaultdict(list)
    without_id: dict[str, set[int]] = defaultdict(set)
    stored_as: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        seqs[row["interaction_id"]].append(row["seq"])
        if row["client_message_id"] is None:
            without_id[row["interaction_id"]].add(row["seq"])
        else:
            stored_as[(row["interaction_id"], row["client_message_id"])].append(row["seq"])
    examples: dict[str, list[Any]] = defaultdict(list)

    firsts = first_messages or {}
    lost = [(*key, seq) for key, seq in acknowledged.items() if key not in stored_as]
    lost += [(chat, None, seq) for chat, seq in firsts.items() if seq not in without_id[chat]]
    examples["messages_lost"] = lost

    twice = {key: found for key, found in stored_as.items() if len(found) > 1}
    mismatched = [
        (*key, seq, stored_as[key])
        for key, seq in acknowledged.items()
        if key in stored_as and stored_as[key] != [seq]
    ]
    examples["messages_duplicated"] = [*conflicts, *twice.items(), *mismatched]
    duplicated = {(c[0], c[1]) for c in conflicts} | set(twice) | {(m[0], m[1]) for m in mismatched}

    gaps = []
    for chat, numbers in seqs.items():
        if numbers != list(range(1, len(numbers) + 1)):
            holes = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            repeats = sorted(seq for seq, count in Counter(numbers).items() if count > 1)
            gaps.append((chat, {"missing": holes[:10], "repeated": repeats[:10]}))
    examples["message_seq_gaps"] = gaps
    return MessageAudit(
        chats=len(seqs),
        stored=len(rows),
        acknowledged=len(acknowledged) + len(firsts),
        lost=len(lost),
        duplicated=len(duplicated),
        seq_gaps=len(gaps),
        examples=dict(examples),
    )


def _capacity(value: Any) -> dict[str, int]:
    from app.routing.model import DEFAULT_CAPACITY

    stored = json.loads(value) if isinstance(value, str) else dict(value or {})
    return {str(channel.value): cap for channel, cap in DEFAULT_CAPACITY.items()} | stored


def _replay(
    events: list[asyncpg.Record],
    channel_of: dict[str, str],
    capacities: dict[str, dict[str, int]],
) -> tuple[list[tuple[str, str, str, int]], set[tuple[str, str]], int]:
    holder: dict[str, str] = {}  # interaction -> agent it is offered to or held by
    load: Counter[tuple[str, str]] = Counter()
    double: list[tuple[str, str, str, int]] = []
    over: set[tuple[str, str]] = set()
    offers = 0

    def release(interaction_id: str) -> None:
        agent = holder.pop(interaction_id, None)
        if agent is not None:
            load[(agent, channel_of.get(interaction_id, "?"))] -= 1

    for event in events:
        interaction_id, kind = event["interaction_id"], event["type"]
        data = event["data"]
        data = json.loads(data) if isinstance(data, str) else (data or {})
        if kind == "interaction.offered":
            offers += 1
            agent = str(data.get("agent_id"))
            current = holder.get(interaction_id)
            if current is not None and current != agent:
                double.append((interaction_id, current, agent, event["id"]))
            release(interaction_id)
            holder[interaction_id] = agent
            channel = channel_of.get(interaction_id, "?")
            load[(agent, channel)] += 1
            if load[(agent, channel)] > capacities.get(agent, {}).get(channel, 1 << 30):
                over.add((agent, channel))
        elif _ends_hold(kind, data):
            release(interaction_id)
    return double, over, offers


def _ends_hold(kind: str, data: dict[str, Any]) -> bool:
    if kind in _OFFER_ENDS or kind in _RELEASES:
        return True
    # A new writer rebuilt the engine: open offers were not restored, the interaction waits.
    return kind == "interaction.restored" and data.get("state") == "queued"


def _over_capacity_now(
    rows: list[asyncpg.Record], capacities: dict[str, dict[str, int]]
) -> set[tuple[str, str]]:
    held: Counter[tuple[str, str]] = Counter(
        (row["agent_id"], row["channel"])
        for row in rows
        if row["agent_id"] and row["state"] in ("offered", "active", "wrap_up")
    )
    return {
        pair
        for pair, count in held.items()
        if count > capacities.get(pair[0], {}).get(pair[1], 1 << 30)
    }


async def first_event_after(cluster: Cluster, event_type: str, moment: float) -> float | None:
    """Wall-clock time of the first stored event of `event_type` after `moment`, or None."""
    connection = await cluster.connect()
    try:
        found = await connection.fetchval(
            "SELECT min(at) FROM interaction_events WHERE type = $1 AND at > $2",
            event_type,
            datetime.fromtimestamp(moment, UTC),
        )
    finally:
        await connection.close()
    return None if found is None else float(found.timestamp())
